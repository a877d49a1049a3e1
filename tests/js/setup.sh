#!/usr/bin/env bash
# Makes this machine able to run the JavaScript worker tests (tests/js/*.mjs): the official
# Durable Task SDK for JavaScript, @microsoft/durabletask-js, and its dependencies (@grpc/grpc-js,
# google-protobuf), pinned by package.json and package-lock.json, into tests/js/node_modules
# with `npm ci` when they are missing or older than the lock file.
#
# Idempotent and quick when everything is there. Fails loudly (non-zero, with the reason)
# when something cannot be done; it never skips.
#
# Usage: tests/js/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"

fail() {
    echo "js/setup.sh: $*" >&2
    exit 1
}

mkdir -p "$workspace/target"
# One setup at a time (tests may run in parallel processes).
exec 9>"$workspace/target/js-setup.lock"
flock 9

command -v node >/dev/null 2>&1 || fail "node is missing (install Node.js 20 or later with npm)"
major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" \
    || fail "node cannot run: $(node --version 2>&1 | tail -3)"
[[ "$major" -ge 20 ]] || fail "node $(node --version) is too old (install Node.js 20 or later with npm)"

installed="$here/node_modules/@microsoft/durabletask-js"
if [[ ! -d "$installed" || "$here/package-lock.json" -nt "$installed" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm is missing (install Node.js 20 or later with npm)"
    echo "js/setup.sh: npm ci in $here" >&2
    (cd "$here" && npm ci --no-audit --no-fund >&2) || fail "npm ci in $here failed"
    [[ -d "$installed" ]] || fail "$installed is still missing after npm ci"
    # npm keeps the package's own timestamps: mark the install as newer than the lock file.
    touch "$installed"
fi
