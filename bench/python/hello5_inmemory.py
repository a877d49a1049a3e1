"""W1 (hello5) on the Durable Task SDK's own in-memory backend: `bench grpc --backend
python-inmemory` runs this script and prints its line.

Usage: python hello5_inmemory.py [--n N] [--concurrency C] [--starters S] [--worker-log FILE]

Starts `durabletask.testing.create_test_backend` (the SDK's in-process backend, serving the same
TaskHubSidecarService protocol as the host) on a free loopback port, launches
`hello5_worker.py` against it as a child process (the same worker `bench grpc` runs against
the host), then starts N hello5 instances (`w1-000000`, ...) through a `TaskHubGrpcClient`
from S concurrent threads (64, as W1's starters), waits until every one has ended, checks
each completed with the hello5 output, and prints one JSON line with the fields of the
bench's lines:

  value / seconds   orchestrations/s from before the first start to the latest completion
                    (the backend's `last_updated_at`)
  p50_ms / p99_ms   per instance, the backend's `created_at` to its `last_updated_at`
  worker_cpu_s      CPU (user + system) of the worker process from the first start until all
                    ended, from /proc/<pid>/stat
  backend_cpu_s     CPU of this process (the backend and the client) over the same span

The backend keeps state in memory only (no durability). The wait polls the backend object's
instances in process (every 20 ms, no gRPC call), so that waiting costs next to no CPU.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timezone

import durabletask.internal.orchestrator_service_pb2 as pb
from durabletask.client import OrchestrationQuery, OrchestrationStatus, TaskHubGrpcClient
from durabletask.testing import create_test_backend

HERE = os.path.dirname(os.path.abspath(__file__))
CITIES = ["Tokyo", "Seattle", "London", "Paris", "Cairo"]
EXPECTED = [f"Hello {c}!" for c in CITIES]
PREFIX = "w1-"
# The backend's own statuses (protobuf enum values) of an instance that has ended.
ENDED = {pb.ORCHESTRATION_STATUS_COMPLETED, pb.ORCHESTRATION_STATUS_FAILED,
         pb.ORCHESTRATION_STATUS_TERMINATED}


def free_port() -> int:
    """A port free on the loopback interface now (the backend cannot bind port 0 and say)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float | None:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def quantile(sorted_values: list[float], q: float) -> float:
    """The bench's quantile (bench/src/lib.rs): the sample at the rounded rank."""
    i = round((len(sorted_values) - 1) * q)
    return sorted_values[min(i, len(sorted_values) - 1)]


def utc_seconds(dt) -> float:
    """Seconds since the epoch of a datetime the client gives (naive means UTC)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def start_worker(address: str, concurrency: int | None, log) -> subprocess.Popen:
    """`hello5_worker.py` against `address`, its stderr (the SDK's log) to the file `log`,
    once it has printed `worker ready`."""
    cmd = [sys.executable, os.path.join(HERE, "hello5_worker.py"), "--address", address]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    worker = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    line = worker.stdout.readline()
    if line.strip() != "worker ready":
        worker.kill()
        raise RuntimeError(f"the worker did not start (it printed {line!r})")
    return worker


def wait_all_ended(backend, n: int, limit: float) -> None:
    """Polls the in-process backend's instances until `n` with the prefix have ended."""
    deadline = time.monotonic() + limit
    while True:
        with backend._lock:  # the SDK's test backend: instances by id, under this lock
            ended = sum(1 for i in backend._instances.values()
                        if i.instance_id.startswith(PREFIX) and i.status in ENDED)
        if ended >= n:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ended} of {n} ended within {limit} s")
        time.sleep(0.02)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2000, help="instances (default 2000)")
    p.add_argument("--concurrency", type=int, help="the worker's max concurrent work items")
    p.add_argument("--starters", type=int, default=64, help="concurrent starting threads")
    p.add_argument("--worker-log", default=os.devnull,
                   help="file the worker's stderr (the SDK's log) is appended to")
    args = p.parse_args()
    n = args.n

    port = free_port()
    backend = create_test_backend(port=port)
    address = f"127.0.0.1:{port}"
    log = open(args.worker_log, "a", encoding="utf-8")
    worker = start_worker(address, args.concurrency, log)
    try:
        client = TaskHubGrpcClient(host_address=address)
        ids = [f"{PREFIX}{i:06d}" for i in range(n)]
        print(f"grpc (python-inmemory): starting {n} hello5 orchestrations", file=sys.stderr)
        worker_cpu0 = proc_cpu_seconds(worker.pid)
        self_cpu0 = proc_cpu_seconds(os.getpid())
        t0 = time.time()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.starters) as pool:
            list(pool.map(lambda i: client.schedule_new_orchestration("hello5", instance_id=i),
                          ids))
        start_secs = time.monotonic() - started
        wait_all_ended(backend, n, 600)
        worker_cpu = proc_cpu_seconds(worker.pid) - worker_cpu0
        backend_cpu = proc_cpu_seconds(os.getpid()) - self_cpu0
        worker_rss = peak_rss_mb(worker.pid)

        query = OrchestrationQuery(instance_id_prefix=PREFIX, fetch_inputs_and_outputs=True)
        states = client.get_all_orchestration_states(query)
        ok = [s for s in states if s.runtime_status == OrchestrationStatus.COMPLETED
              and json.loads(s.serialized_output or "null") == EXPECTED]
        if len(ok) != n:
            raise RuntimeError(f"{len(ok)} of {n} completed correctly")
        last = max(utc_seconds(s.last_updated_at) for s in ok)
        latencies = sorted((utc_seconds(s.last_updated_at) - utc_seconds(s.created_at)) * 1e3
                           for s in ok)
        client.close()
    finally:
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        backend.stop()
        log.close()

    secs = last - t0
    activities = 5 * n
    line = {
        "workload": "grpc",
        "store": "python-inmemory",
        "durability": "none",
        "cores": os.cpu_count(),
        "n": n,
        "seconds": round(secs, 3),
        "value": round(n / secs, 2),
        "unit": "orchestrations/s",
        "activities_per_s": round(activities / secs, 3),
        "p50_ms": round(quantile(latencies, 0.5), 3),
        "p99_ms": round(quantile(latencies, 0.99), 3),
        "start_seconds": round(start_secs, 3),
        "worker_cpu_s": round(worker_cpu, 3),
        "worker_cpu_us_per_activity": round(worker_cpu * 1e6 / activities, 3),
        "backend_cpu_s": round(backend_cpu, 3),
        "backend_cpu_us_per_activity": round(backend_cpu * 1e6 / activities, 3),
        "concurrency": args.concurrency,
        "worker_peak_rss_mb": worker_rss,
        "load_1m": os.getloadavg()[0],
        "peak_rss_mb": peak_rss_mb(os.getpid()),
    }
    # In this order, as the bench prints its lines (json.dumps would too, but say it).
    body = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in line.items())
    print("{" + body + "}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
