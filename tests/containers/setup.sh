#!/usr/bin/env bash
# Makes this machine able to build and run the app's container image without a Docker engine
# or a registry, as the container end-to-end test needs:
#
#   1. podman (with runc, netavark and slirp4netns) and debootstrap, from Debian packages,
#      when podman is missing (needs root and apt-get);
#   2. the base image docker.io/library/debian:bookworm-slim, made locally with debootstrap
#      the way the official one is made, when podman does not have it yet. The root
#      filesystem is cached under target/containers/ so a second machine setup imports it.
#
# Idempotent and quick when everything is there. Fails loudly (non-zero, with the reason)
# when something cannot be done; it never skips.
#
# Usage: tests/containers/setup.sh   (export CONTAINERS_CONF=<this folder>/containers.conf
# for your own podman commands on a machine like CI's.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
cache="${DURABLE_CONTAINER_CACHE:-$workspace/target/containers}"
base=docker.io/library/debian:bookworm-slim
export CONTAINERS_CONF="$here/containers.conf"

fail() {
    echo "containers/setup.sh: $*" >&2
    exit 1
}

mkdir -p "$cache"
# One setup at a time (tests may run in parallel processes).
exec 9>"$cache/.lock"
flock 9

packages=(podman runc netavark aardvark-dns iptables slirp4netns debootstrap)
if ! command -v podman >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 \
        || fail "podman is not installed and there is no apt-get to install it (install podman 4 and debootstrap)"
    [[ "$(id -u)" == 0 ]] \
        || fail "podman is not installed; installing it needs root (run: sudo apt-get install ${packages[*]})"
    echo "containers/setup.sh: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 2>/dev/null; then
        apt-get update -qq >&2 || fail "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2 \
            || fail "apt-get install ${packages[*]} failed"
    fi
fi
podman info >/dev/null 2>&1 || fail "podman cannot run here: $(podman info 2>&1 | tail -3)"

if podman image exists "$base"; then
    exit 0
fi

rootfs="$cache/debian-bookworm-slim.tar"
if [[ ! -s "$rootfs" ]]; then
    [[ "$(id -u)" == 0 ]] || fail "making the base image with debootstrap needs root"
    echo "containers/setup.sh: making $base with debootstrap (about a minute)" >&2
    root="$(mktemp -d)"
    trap 'rm -rf "$root"' EXIT
    log="$cache/debootstrap.log"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$log" 2>&1 \
        || fail "debootstrap failed (log: $log):
$(tail -n 20 "$log")"
    # As the official slim image: no apt caches, lists, docs, man pages or locales, now or
    # after a later apt-get install in a Dockerfile.
    rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/* "$root"/usr/share/{doc,man,locale,info}/*
    printf '%s\n' \
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };' \
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' \
        'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-clean"
    printf 'path-exclude /usr/share/%s/*\n' doc man locale info >"$root/etc/dpkg/dpkg.cfg.d/docker-slim"
    tar -C "$root" --numeric-owner -cf "$rootfs.partial" .
    mv "$rootfs.partial" "$rootfs"
fi
podman import --change 'CMD ["bash"]' "$rootfs" "$base" >/dev/null \
    || fail "podman import of $rootfs failed"
podman image exists "$base" || fail "$base is still missing after the import"
