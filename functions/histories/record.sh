#!/usr/bin/env bash
# Records the history of one instance of every sample orchestration into this directory, for
# the replay check in functions/src/replay_check.rs. Run it after changing a sample
# orchestration on purpose (the check then fails until the histories are recorded again):
#
#   bash functions/histories/record.sh
#
# It builds the sample app, runs it on a fresh embedded task hub in a temporary directory,
# drives each orchestration to its end over the HTTP API, and exports the histories with the
# app's own `export-history` command.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cargo build -q -p functions --manifest-path "$root/Cargo.toml"
app="$root/target/debug/functions"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
"$app" --port 0 >stdout.log 2>stderr.log &
pid=$!
for _ in $(seq 1 600); do
  base="$(sed -n 's|^Listening on \(http://[^ ]*\)$|\1|p' stdout.log)"
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat stderr.log; echo "the sample app did not start" >&2; exit 1; }
api="$base/runtime/webhooks/durabletask"

start() { # name id [json body]
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' \
    --data "${3:-}" "$api/orchestrators/$1/$2"
}
raise() { # id event json
  curl -fsS -o /dev/null -X POST -H 'content-type: application/json' \
    --data "$3" "$api/instances/$1/raiseEvent/$2"
}
field() { # id field: prints the status field
  curl -fsS "$api/instances/$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2'))"
}
wait_for() { # id status
  for _ in $(seq 1 300); do
    [ "$(field "$1" runtimeStatus)" = "$2" ] && return 0
    sleep 0.1
  done
  echo "$1 is not $2" >&2
  exit 1
}

curl -fsS -o /dev/null -X POST -H 'content-type: application/json' --data 100 \
  "$api/entities/account/alice?op=deposit"
start hello_cities hello-cities
start fan_out_fan_in fan-out-fan-in 5
start process_submission submission '{"title": "Durable Rust", "speaker": "Ada"}'
start monitor_job monitor '{"job_id": "job-1", "polling_interval_seconds": 1, "expiry_seconds": 2}'
start count_with_entity count '{"entity": "counter", "key": "c1", "amounts": [1, 2, 3]}'
start transfer transfer '{"id": "t1", "from": "alice", "to": "bob", "amount": 40}'
start approval_workflow approval '{"subject": "budget", "timeout_seconds": 600}'
start weather weather '{"request_id": "weather", "city": "Paris"}'
start hold_locks locks '["a", "b"]'
wait_for approval Running
raise approval ApprovalEvent true
wait_for weather Running
raise weather WeatherResult '{"city": "Paris", "temperatureC": 21}'
for _ in $(seq 1 300); do
  [ "$(field locks customStatus)" = "locked" ] && break
  sleep 0.1
done
raise locks done '{}'
for id in hello-cities fan-out-fan-in submission monitor count transfer approval weather locks; do
  wait_for "$id" Completed
done
rm -f "$here"/*.json
"$app" export-history --output "$here"
