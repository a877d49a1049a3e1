"""The Python side of `bench grpc`: a Durable Task SDK worker serving W1's hello5.

Usage: python hello5_worker.py --address HOST:PORT [--concurrency C]

Registers the orchestrator `hello5` (the activity `say_hello` called five times in sequence
with the cities of W1, returning the list of greetings) and the activity `say_hello`, connects
a `TaskHubGrpcWorker` to the backend at HOST:PORT, prints `worker ready` once it has started,
and runs until SIGTERM or SIGINT. `--concurrency C` sets the SDK's `ConcurrencyOptions`
(maximum concurrent orchestration and activity work items) to C; without it the SDK's defaults
apply (100 x CPU count each). The SDK logs to stderr; stdout carries only `worker ready`.
The same worker runs against this host (`bench grpc`) and the SDK's own in-memory backend
(`hello5_inmemory.py`).
"""

import argparse
import signal
import sys
import threading

from durabletask import task
from durabletask.worker import ConcurrencyOptions, TaskHubGrpcWorker

# The five cities of W1 (bench/src/lib.rs, CITIES).
CITIES = ["Tokyo", "Seattle", "London", "Paris", "Cairo"]


def say_hello(ctx: task.ActivityContext, city: str) -> str:
    return f"Hello {city}!"


def hello5(ctx: task.OrchestrationContext, _input):
    out = []
    for city in CITIES:
        out.append((yield ctx.call_activity("say_hello", input=city)))
    return out


def new_worker(address: str, concurrency: int | None) -> TaskHubGrpcWorker:
    """A worker with hello5 and say_hello registered under those names."""
    options = None
    if concurrency is not None:
        options = ConcurrencyOptions(
            maximum_concurrent_activity_work_items=concurrency,
            maximum_concurrent_orchestration_work_items=concurrency,
        )
    w = TaskHubGrpcWorker(host_address=address, concurrency_options=options)
    # Registered under their function names: `hello5` and `say_hello`.
    w.add_orchestrator(hello5)
    w.add_activity(say_hello)
    return w


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--address", required=True, help="the gRPC backend, HOST:PORT")
    p.add_argument("--concurrency", type=int, help="max concurrent work items of each kind")
    args = p.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    w = new_worker(args.address, args.concurrency)
    w.start()
    print("worker ready", flush=True)
    while not stop.wait(0.5):
        pass
    # stop() joins the worker's threads; bound it so a stuck stream cannot hang the exit.
    t = threading.Thread(target=w.stop, daemon=True)
    t.start()
    t.join(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
