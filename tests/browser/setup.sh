#!/usr/bin/env bash
# Makes this machine able to run the page tests (tests/browser/*.mjs) in headless Chromium:
#
#   1. Debian's chromium (/usr/bin/chromium), with apt-get, when it is missing (needs root);
#   2. playwright-core, pinned by package-lock.json, into tests/browser/node_modules with
#      `npm ci` when it is missing or older than the lock file. Only the library: Playwright's
#      own browser download does not work on a closed network, the scripts use Debian's.
#
# Idempotent and quick when everything is there. Fails loudly (non-zero, with the reason)
# when something cannot be done; it never skips.
#
# Usage: tests/browser/setup.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
chromium=/usr/bin/chromium

fail() {
    echo "browser/setup.sh: $*" >&2
    exit 1
}

mkdir -p "$workspace/target"
# One setup at a time (tests may run in parallel processes).
exec 9>"$workspace/target/browser-setup.lock"
flock 9

if [[ ! -x "$chromium" ]]; then
    command -v apt-get >/dev/null 2>&1 \
        || fail "$chromium is missing and there is no apt-get to install it (install Debian's chromium)"
    [[ "$(id -u)" == 0 ]] \
        || fail "$chromium is missing; installing it needs root (run: sudo apt-get install chromium)"
    echo "browser/setup.sh: installing chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends chromium >&2 2>/dev/null; then
        apt-get update -qq >&2 || fail "apt-get update failed"
        apt-get install -y -qq --no-install-recommends chromium >&2 \
            || fail "apt-get install chromium failed"
    fi
    [[ -x "$chromium" ]] || fail "$chromium is still missing after apt-get install chromium"
fi
"$chromium" --version >/dev/null 2>&1 || fail "$chromium cannot run: $("$chromium" --version 2>&1 | tail -3)"

installed="$here/node_modules/playwright-core"
if [[ ! -d "$installed" || "$here/package-lock.json" -nt "$installed" ]]; then
    command -v npm >/dev/null 2>&1 || fail "npm is missing (install Node.js 20 or later with npm)"
    echo "browser/setup.sh: npm ci in $here" >&2
    (cd "$here" && npm ci --no-audit --no-fund >&2) || fail "npm ci in $here failed"
    [[ -d "$installed" ]] || fail "$installed is still missing after npm ci"
    # npm keeps the package's own timestamps: mark the install as newer than the lock file.
    touch "$installed"
fi
