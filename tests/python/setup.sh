#!/usr/bin/env bash
# Creates (or reuses) the virtualenv the Python end-to-end tests run in (the Durable Functions
# client, the schema checkers, schemathesis, the Durable Task SDK) and installs the pinned requirements into it.
# Idempotent: when the venv already matches requirements.txt it returns at once. Needs only
# python3 (with venv and pip) and PyPI.
#
# Usage: tests/python/setup.sh [VENV_DIR]   (default: <workspace>/target/pyenv)
# Prints the venv's python interpreter path as its last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
venv="${1:-${DURABLE_PYENV:-$workspace/target/pyenv}}"
requirements="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="$venv/bin/python"

# One set-up at a time: test processes may ask at once.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
    && "$python" -c "import azure.durable_functions, schemathesis, openapi_spec_validator, durabletask" 2>/dev/null; then
    echo "$python"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "setup.sh: python3 is not installed" >&2
    exit 1
fi
echo "setup.sh: creating the virtualenv $venv" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
pip_args=(--disable-pip-version-check --no-input --quiet --requirement "$requirements")
if python3 -m venv "$venv" >&2; then
    "$python" -m pip install "${pip_args[@]}" >&2
else
    # No ensurepip (e.g. Debian without python3-venv): an empty venv, filled by the
    # system pip (pip >= 22.3 can install into another interpreter's environment).
    echo "setup.sh: 'python3 -m venv' failed; trying a venv without pip" >&2
    rm -rf "$venv"
    if ! python3 -m venv --without-pip "$venv" >&2; then
        echo "setup.sh: cannot create a virtualenv (on Debian/Ubuntu: apt-get install python3-venv)" >&2
        exit 1
    fi
    python3 -m pip --python "$python" install "${pip_args[@]}" >&2
fi
"$python" -c "import azure.durable_functions, aiohttp, schemathesis, openapi_spec_validator" >&2
echo "$want" > "$stamp"
echo "$python"
