#!/usr/bin/env bash
# Runs the peer benchmark (../shared/bench/dbos_bench.py: DBOS from PyPI on a throwaway local
# PostgreSQL 15) and our W1 (hello5) and W3 (fanout) with the same N, in one run, and prints
# the ratios. Everything it needs is set up here: the PostgreSQL cluster (initdb in a temp dir,
# on a free port, removed at the end), a venv with a pinned `dbos`, a release build of `bench`.
#
#   scripts/peer_bench.sh [N]        (default N = 1000; env: DBOS_BENCH=path/to/dbos_bench.py,
#                                      PG_BIN=/usr/lib/postgresql/15/bin, KEEP_LOGS=1)
#
# Needs: PostgreSQL 15 server binaries (Debian: apt-get install postgresql-15), python3 with
# venv, cargo. Run as root it runs PostgreSQL as the `postgres` user (initdb refuses root).
set -euo pipefail

N="${1:-1000}"
DBOS_VERSION="3.4.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DBOS_BENCH="${DBOS_BENCH:-$ROOT/../shared/bench/dbos_bench.py}"
VENV="$ROOT/target/dbos-venv"

log() { echo "peer_bench: $*" >&2; }

[ -f "$DBOS_BENCH" ] || { log "no $DBOS_BENCH (set DBOS_BENCH)"; exit 1; }

# --- PostgreSQL 15 --------------------------------------------------------------------------
if [ -z "${PG_BIN:-}" ]; then
    PG_BIN=/usr/lib/postgresql/15/bin
    if [ ! -x "$PG_BIN/initdb" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        log "installing postgresql-15"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    fi
fi
[ -x "$PG_BIN/initdb" ] || { log "no PostgreSQL binaries in $PG_BIN (set PG_BIN)"; exit 1; }

PGTMP="$(mktemp -d "${TMPDIR:-/tmp}/peer-pg.XXXXXX")"
AS=()
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PGTMP"
    AS=(runuser -u postgres --)
fi
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"

cleanup() {
    "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -m fast stop >/dev/null 2>&1 || true
    if [ -n "${KEEP_LOGS:-}" ]; then log "logs kept in $PGTMP"; else rm -rf "$PGTMP"; fi
}
trap cleanup EXIT

log "initdb a throwaway cluster in $PGTMP (port $PORT)"
"${AS[@]}" "$PG_BIN/initdb" -D "$PGTMP/data" -U postgres --auth=trust -E UTF8 >/dev/null
# Defaults otherwise: fsync=on, synchronous_commit=on (durable commits, as ours).
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/pg.log" -w \
    -o "-p $PORT -k $PGTMP -c listen_addresses=127.0.0.1" start >/dev/null
"${AS[@]}" "$PG_BIN/postgres" --version >&2

# --- DBOS -----------------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import dbos, importlib.metadata as m; assert m.version('dbos') == '$DBOS_VERSION'" 2>/dev/null; then
    log "installing dbos==$DBOS_VERSION"
    "$VENV/bin/pip" install -q "dbos==$DBOS_VERSION"
fi

# --- ours -----------------------------------------------------------------------------------
log "building bench (release)"
(cd "$ROOT" && cargo build --release -q -p bench)
BENCH="$ROOT/target/release/bench"

log "DBOS: $N five-step workflows, then a fan-out of $N children"
DBOS_OUT="$(DBOS_URL="postgresql://postgres@127.0.0.1:$PORT/dbos_bench" \
    "$VENV/bin/python" "$DBOS_BENCH" "$N")"
echo "$DBOS_OUT"
log "ours: W1 and W3 with n = $N"
W1_OUT="$("$BENCH" W1 --n "$N")"
W3_OUT="$("$BENCH" W3 --n "$N")"
echo "$W1_OUT"
echo "$W3_OUT"

DBOS_OUT="$DBOS_OUT" W1_OUT="$W1_OUT" W3_OUT="$W3_OUT" N="$N" DBOS_VERSION="$DBOS_VERSION" python3 - <<'EOF'
import json, os, re
dbos = os.environ["DBOS_OUT"]
chain = re.search(r"chain : (\d+) workflows x 5 steps in ([\d.]+)s \(([\d.]+) wf/s\)", dbos)
fan = re.search(r"fanout: 1 workflow -> (\d+) queued children in ([\d.]+)s", dbos)
w1 = json.loads(os.environ["W1_OUT"])
w3 = json.loads(os.environ["W3_OUT"])
dbos_wf_s = float(chain.group(3))
dbos_fan_s = float(fan.group(2))
n = int(os.environ["N"])
r1 = w1["value"] / dbos_wf_s
r3 = dbos_fan_s / w3["seconds"]
print(json.dumps({
    "peer": "dbos " + os.environ["DBOS_VERSION"] + " on PostgreSQL 15 (fsync on)",
    "n": n,
    "dbos_chain_wf_per_s": dbos_wf_s,
    "ours_w1_orchestrations_per_s": w1["value"],
    "w1_ratio": round(r1, 1),
    "dbos_fanout_seconds": dbos_fan_s,
    "ours_w3_seconds": w3["seconds"],
    "w3_ratio": round(r3, 1),
    "target": ">= 30x",
    "load_1m": w3.get("load_1m"),
}))
print(f"W1 hello5 : ours {w1['value']:.0f} orch/s vs DBOS {dbos_wf_s:.1f} wf/s -> {r1:.1f}x")
print(f"W3 fanout : ours {w3['seconds']:.3f} s vs DBOS {dbos_fan_s:.2f} s for {n} -> {r3:.1f}x")
EOF
