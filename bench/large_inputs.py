#!/usr/bin/env python3
"""The large-input attack on a release build of the sample app (docs/reliability.md, Memory).

Starts 400 `approval_workflow` orchestrations with 512 KB inputs over HTTP (16 concurrent
clients) on the embedded store, while a monitor lists the running instances
(`showInput=false`) every second, until all 400 wait for their event. Prints the host's peak
resident memory (VmHWM) and its resident memory once all wait (VmRSS), as JSON.

    cargo build --release -p functions
    python3 bench/large_inputs.py target/release/functions [cache MiB, default 64]

A host.json can be given in the HOST_JSON environment variable (e.g. to change concurrency).
"""
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

INSTANCES = 400
PORT = 7399


def main():
    binary = os.path.abspath(sys.argv[1])
    cache_mb = sys.argv[2] if len(sys.argv) > 2 else "64"
    d = tempfile.mkdtemp()
    if os.environ.get("HOST_JSON"):
        with open(os.path.join(d, "host.json"), "w") as f:
            f.write(os.environ["HOST_JSON"])
    settings = {"IsEncrypted": False, "Values": {
        "AzureWebJobsStorage": "", "TaskHubName": "MemHub", "DurableCacheMegabytes": cache_mb}}
    with open(os.path.join(d, "local.settings.json"), "w") as f:
        json.dump(settings, f)
    host = subprocess.Popen([binary, "--port", str(PORT)], cwd=d, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        for line in host.stdout:
            if "Listening on" in line:
                break
        body = json.dumps({"subject": "x" * 524288}).encode()

        def start(_):
            req = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/api/orchestrators/approval_workflow", data=body,
                headers={"Content-Type": "application/json"}, method="POST")
            return urllib.request.urlopen(req, timeout=60).status

        def running():
            url = (f"http://127.0.0.1:{PORT}/runtime/webhooks/durabletask/instances"
                   "?runtimeStatus=Running&top=1000&showInput=false")
            return len(json.load(urllib.request.urlopen(url, timeout=60)))

        t0 = time.time()
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            codes = list(ex.map(start, range(INSTANCES)))
        while running() < INSTANCES and time.time() - t0 < 300:
            time.sleep(1)
        time.sleep(2)
        with open(f"/proc/{host.pid}/status") as f:
            status = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        print(json.dumps({
            "cache_mb": cache_mb, "accepted": codes.count(202), "running": running(),
            "seconds": round(time.time() - t0, 1),
            "peak_mb": int(status["VmHWM"].split()[0]) // 1024,
            "resident_mb": int(status["VmRSS"].split()[0]) // 1024}))
    finally:
        host.terminate()
        host.wait(timeout=60)
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
