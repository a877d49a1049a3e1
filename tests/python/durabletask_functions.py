"""The worker's functions for the Durable Task SDK tests (durabletask_scenarios.py): the activities,
orchestrators and entities a TaskHubGrpcWorker registers, and how to build that worker.

Activity runs can be logged (set_log), one JSON line each, so that a test counts executions.
"""

import json
import threading
from datetime import timedelta

from durabletask import entities, task
from durabletask.worker import TaskHubGrpcWorker

CITIES = ["Tokyo", "Seattle", "London"]
MANY_CITIES = ["Tokyo", "Seattle", "London", "Paris", "Cairo"]

# --- activities --------------------------------------------------------------------------------

_log_path = None
_log_lock = threading.Lock()


def set_log(path):
    """Appends one JSON line per activity run to `path` from now on (None: no log)."""
    global _log_path
    _log_path = path


def _record(ctx: task.ActivityContext, name: str, value):
    """Appends one line per activity execution to the --log file (tests count executions)."""
    if _log_path is None:
        return
    line = json.dumps({"activity": name, "instance_id": ctx.orchestration_id, "input": value})
    with _log_lock, open(_log_path, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()


def say_hello(ctx: task.ActivityContext, city):
    _record(ctx, "say_hello", city)
    return f"Hello {city}!"


def double(ctx: task.ActivityContext, n):
    _record(ctx, "double", n)
    return n * 2


_flaky_attempts: dict = {}
_flaky_lock = threading.Lock()


def flaky(ctx: task.ActivityContext, key):
    """Fails the first two attempts for a key (the calling instance's id), then succeeds."""
    _record(ctx, "flaky", key)
    with _flaky_lock:
        attempt = _flaky_attempts.get(key, 0) + 1
        _flaky_attempts[key] = attempt
    if attempt < 3:
        raise RuntimeError(f"flaky attempt {attempt} fails")
    return f"ok after {attempt}"


def always_fails(ctx: task.ActivityContext, _):
    _record(ctx, "always_fails", _)
    raise ValueError("boom")


def py_shout(ctx: task.ActivityContext, s):
    """Called by name from a Rust orchestration in the mixed test."""
    _record(ctx, "py_shout", s)
    return s.upper() + "!"


_failed_once: set = set()


def fails_once(ctx: task.ActivityContext, key):
    """Fails the first run for a key (the calling instance's id): what a rewind recovers from."""
    _record(ctx, "fails_once", key)
    with _flaky_lock:
        first = key not in _failed_once
        _failed_once.add(key)
    if first:
        raise RuntimeError("the first run fails")
    return "recovered"


ACTIVITIES = [say_hello, double, flaky, always_fails, py_shout, fails_once]

# --- orchestrators -----------------------------------------------------------------------------


def hello_chain(ctx: task.OrchestrationContext, _):
    results = []
    for city in CITIES:
        results.append((yield ctx.call_activity(say_hello, input=city)))
    return results


def hello_many(ctx: task.OrchestrationContext, _):
    results = []
    for city in MANY_CITIES:
        results.append((yield ctx.call_activity(say_hello, input=city)))
    return results


def fan_out(ctx: task.OrchestrationContext, _):
    results = yield task.when_all([ctx.call_activity(double, input=i) for i in range(10)])
    return sum(results)


def timer_orch(ctx: task.OrchestrationContext, _):
    yield ctx.create_timer(timedelta(seconds=1))
    return "done"


def wait_event(ctx: task.OrchestrationContext, _):
    payload = yield ctx.wait_for_external_event("approval")
    return payload


def wait_event_or_timeout(ctx: task.OrchestrationContext, _):
    event = ctx.wait_for_external_event("approval")
    timer = ctx.create_timer(timedelta(seconds=2))
    winner = yield task.when_any([event, timer])
    if winner is timer:
        return "timed out"
    return event.get_result()


def parent_orch(ctx: task.OrchestrationContext, _):
    return (yield ctx.call_sub_orchestrator(hello_chain))


def retry_orch(ctx: task.OrchestrationContext, _):
    policy = task.RetryPolicy(first_retry_interval=timedelta(seconds=0.5), max_number_of_attempts=3)
    return (yield ctx.call_activity(flaky, input=ctx.instance_id, retry_policy=policy))


def failing_orch(ctx: task.OrchestrationContext, _):
    return (yield ctx.call_activity(always_fails))


def counter_orch(ctx: task.OrchestrationContext, n):
    n = n or 0
    if n < 3:
        ctx.continue_as_new(n + 1)
        return None
    return n


def versioned_counter_orch(ctx: task.OrchestrationContext, n):
    # Continues as new once, at version "2", then answers the version it runs at.
    if not n:
        ctx.continue_as_new(1, new_version="2")
        return None
    return ctx.version


def status_orch(ctx: task.OrchestrationContext, _):
    ctx.set_custom_status("step 1")
    yield ctx.wait_for_external_event("go")
    return "finished"


# --- entities ------------------------------------------------------------------------------------


def py_tally(ctx: entities.EntityContext, value):
    """A Python entity the host runs on this worker: add, get, and an operation that fails."""
    total = ctx.get_state(int, 0)
    if ctx.operation == "add":
        total += value
        ctx.set_state(total)
        return total
    if ctx.operation == "get":
        return total
    raise ValueError(f"py_tally has no operation {ctx.operation!r}")


ENTITIES = [py_tally]


def entity_orch(ctx: task.OrchestrationContext, key):
    """Signals, calls (one failing) and locks the Python entity `py_tally@key`."""
    tally = entities.EntityInstanceId("py_tally", key)
    ctx.signal_entity(tally, "add", 2)
    after_add = yield ctx.call_entity(tally, "add", 3)
    failed = None
    try:
        yield ctx.call_entity(tally, "nope")
    except Exception as e:  # the entity's failure, as the SDK raises it
        failed = str(e)
    with (yield ctx.lock_entities([tally])):
        locked_get = yield ctx.call_entity(tally, "get")
    return {"after_add": after_add, "failed": failed, "locked_get": locked_get}


def calls_rust_entity(ctx: task.OrchestrationContext, key):
    """Signals and calls the Rust host's `counter` entity (not registered in Python)."""
    counter = entities.EntityInstanceId("counter", key)
    ctx.signal_entity(counter, "add", 4)
    yield ctx.call_entity(counter, "add", 1)
    return (yield ctx.call_entity(counter, "get"))


def rewind_orch(ctx: task.OrchestrationContext, _):
    return (yield ctx.call_activity(fails_once, input=ctx.instance_id))


def python_calls_rust(ctx: task.OrchestrationContext, _):
    # RustGreet is served by the Rust host; it is not registered in Python.
    return (yield ctx.call_activity("RustGreet", input="Python"))


ORCHESTRATORS = [hello_chain, hello_many, fan_out, timer_orch, wait_event, wait_event_or_timeout,
                 parent_orch, retry_orch, failing_orch, counter_orch, versioned_counter_orch,
                 status_orch, rewind_orch, entity_orch, calls_rust_entity, python_calls_rust]


def new_worker(address: str, filters: bool) -> TaskHubGrpcWorker:
    w = TaskHubGrpcWorker(host_address=address)
    for fn in ORCHESTRATORS:
        w.add_orchestrator(fn)
    for fn in ACTIVITIES:
        w.add_activity(fn)
    for fn in ENTITIES:
        w.add_entity(fn)
    if filters:
        w.use_work_item_filters()  # GetWorkItemsRequest.workItemFilters from the registrations
    return w


def stop_worker(w: TaskHubGrpcWorker, limit: float = 15.0):
    """worker.stop() joins non-daemon threads; bound it so a stuck stream cannot hang the exit."""
    t = threading.Thread(target=w.stop, daemon=True)
    t.start()
    t.join(limit)
