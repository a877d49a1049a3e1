"""End-to-end scenarios for the host's Durable Task gRPC backend, driven by the real PyPI
`durabletask` SDK (pinned in requirements.txt) as worker and client. Used by
tests/tests/grpc_workers.rs; developed against the SDK's own in-memory backend
(durabletask.testing.create_test_backend), which serves the same TaskHubSidecarService protocol.

Usage: python durabletask_scenarios.py --address HOST:PORT COMMAND [options]

  worker [--log FILE] [--work-item-filters]
      Runs a TaskHubGrpcWorker with every orchestrator and activity below until SIGTERM/SIGINT.
      Prints `worker ready` once the worker has started. With --log, appends one JSON line
      {"activity", "instance_id", "input"} per activity execution (retries included).
  scenarios [--only a,b] [--skip c] [--mixed] [--timeout S] [--log FILE] [--work-item-filters]
      Starts its own worker in-process and runs the scenarios (SCENARIOS below) with a
      TaskHubGrpcClient: one JSON line {"scenario", "ok", "instance_id", "detail"} each, then
      {"done": true, "passed": n, "failed": m}. Exit code 0 only if every scenario passed.
      The scenarios in NEEDS_MIXED need the Rust host (`mixed_python_calls_rust` its `RustGreet`
      activity, the `entity_*` ones its `counter` entity), so they run only with --mixed (or when
      named in --only).
  start --orchestration NAME --count N [--input JSON]   prints {"ids": [...]}
  wait --ids ID1,ID2 [--timeout S]
      prints {"results": {id: {"status", "output"}}}; status is an OrchestrationStatus name
      (COMPLETED, FAILED, TERMINATED, ...), or TIMED_OUT / NOT_FOUND; failed ones add "failure".
  status --id ID    prints {"status", "output", "custom_status", "exists"}

Outputs and custom statuses are printed parsed from JSON. stdout carries only these JSON lines;
the SDK logs to stderr. `flaky` counts attempts in process memory, so the `retries` scenario
assumes no other Python worker process is connected to the same backend.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from durabletask.client import (EntityQuery, OrchestrationQuery, OrchestrationStatus,
                                TaskHubGrpcClient)
from durabletask.entities import EntityInstanceId
from durabletask_functions import (CITIES, calls_rust_entity, counter_orch, entity_orch,
                                    failing_orch, fan_out, hello_chain, new_worker, parent_orch,
                                    python_calls_rust, retry_orch, rewind_orch, set_log,
                                    status_orch, stop_worker, timer_orch, versioned_counter_orch,
                                    wait_event, wait_event_or_timeout)


# --- scenarios: each gets (client, instance id, timeout), raises on failure, returns a detail ---


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def finish(c: TaskHubGrpcClient, iid: str, timeout: float, status=OrchestrationStatus.COMPLETED):
    state = c.wait_for_orchestration_completion(iid, timeout=timeout)
    check(state is not None, "wait_for_orchestration_completion: instance not found")
    failure = state.failure_details.message if state.failure_details else None
    check(state.runtime_status == status,
          f"status {state.runtime_status.name}, want {status.name} (failure: {failure})")
    return state


def poll(c: TaskHubGrpcClient, iid: str, pred, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        state = c.get_orchestration_state(iid)
        if state is not None and pred(state):
            return state
        if time.monotonic() > deadline:
            got = state.runtime_status.name if state else "no instance"
            raise AssertionError(f"timed out waiting for {what} (last: {got})")
        time.sleep(0.1)


def expect_output(state, want):
    got = state.get_output()
    check(got == want, f"output {got!r}, want {want!r}")
    return {"output": got}


def sc_chain(c, iid, timeout):
    c.schedule_new_orchestration(hello_chain, instance_id=iid)
    return expect_output(finish(c, iid, timeout), [f"Hello {city}!" for city in CITIES])


def sc_fan_out_fan_in(c, iid, timeout):
    c.schedule_new_orchestration(fan_out, instance_id=iid)
    return expect_output(finish(c, iid, timeout), 90)


def sc_timer(c, iid, timeout):
    began = time.monotonic()
    c.schedule_new_orchestration(timer_orch, instance_id=iid)
    detail = expect_output(finish(c, iid, timeout), "done")
    took = time.monotonic() - began
    check(took >= 1.0, f"a 1 s timer completed after {took:.2f} s")
    return {**detail, "seconds": round(took, 2)}


def sc_external_event(c, iid, timeout):
    c.schedule_new_orchestration(wait_event, instance_id=iid)
    c.wait_for_orchestration_start(iid, timeout=timeout)
    c.raise_orchestration_event(iid, "approval", data={"approved": True, "by": "python"})
    return expect_output(finish(c, iid, timeout), {"approved": True, "by": "python"})


def sc_external_event_timeout(c, iid, timeout):
    began = time.monotonic()
    c.schedule_new_orchestration(wait_event_or_timeout, instance_id=iid)
    detail = expect_output(finish(c, iid, timeout), "timed out")
    took = time.monotonic() - began
    check(took >= 2.0, f"a 2 s timeout won after {took:.2f} s")
    return {**detail, "seconds": round(took, 2)}


def sc_sub_orchestration(c, iid, timeout):
    c.schedule_new_orchestration(parent_orch, instance_id=iid)
    return expect_output(finish(c, iid, timeout), [f"Hello {city}!" for city in CITIES])


def sc_retries(c, iid, timeout):
    c.schedule_new_orchestration(retry_orch, instance_id=iid)
    return expect_output(finish(c, iid, timeout), "ok after 3")


def sc_activity_failure(c, iid, timeout):
    c.schedule_new_orchestration(failing_orch, instance_id=iid)
    state = finish(c, iid, timeout, OrchestrationStatus.FAILED)
    check(state.failure_details is not None, "FAILED without failure details")
    message = state.failure_details.message
    check("boom" in message, f"failure message {message!r} lacks 'boom'")
    return {"failure": message, "error_type": state.failure_details.error_type}


def sc_continue_as_new(c, iid, timeout):
    c.schedule_new_orchestration(counter_orch, input=0, instance_id=iid)
    return expect_output(finish(c, iid, timeout), 3)


def sc_continue_as_new_version(c, iid, timeout):
    c.schedule_new_orchestration(versioned_counter_orch, input=0, instance_id=iid, version="1")
    # The second generation runs at the version the first asked for.
    return expect_output(finish(c, iid, timeout), "2")


def sc_terminate(c, iid, timeout):
    c.schedule_new_orchestration(wait_event, instance_id=iid)
    c.wait_for_orchestration_start(iid, timeout=timeout)
    c.terminate_orchestration(iid, output="stopped")
    return expect_output(finish(c, iid, timeout, OrchestrationStatus.TERMINATED), "stopped")


def sc_suspend_resume(c, iid, timeout):
    c.schedule_new_orchestration(wait_event, instance_id=iid)
    c.wait_for_orchestration_start(iid, timeout=timeout)
    c.suspend_orchestration(iid, reason="pause")
    poll(c, iid, lambda s: s.runtime_status == OrchestrationStatus.SUSPENDED, "SUSPENDED", timeout)
    c.raise_orchestration_event(iid, "approval", data="while suspended")
    time.sleep(1.0)  # give a wrongly delivered event time to complete the orchestration
    state = c.get_orchestration_state(iid)
    check(state is not None and state.runtime_status == OrchestrationStatus.SUSPENDED,
          f"after an event while suspended: {state.runtime_status.name if state else None}")
    c.resume_orchestration(iid, reason="go on")
    return expect_output(finish(c, iid, timeout), "while suspended")


def sc_purge(c, iid, timeout):
    c.schedule_new_orchestration(hello_chain, instance_id=iid)
    finish(c, iid, timeout)
    result = c.purge_orchestration(iid)
    check(result.deleted_instance_count == 1, f"purge deleted {result.deleted_instance_count}, want 1")
    check(c.get_orchestration_state(iid) is None, "instance still exists after purge")
    return {"deleted": result.deleted_instance_count, "is_complete": result.is_complete}


def sc_custom_status(c, iid, timeout):
    c.schedule_new_orchestration(status_orch, instance_id=iid)
    poll(c, iid, lambda s: s.serialized_custom_status == json.dumps("step 1"),
         'custom status "step 1"', timeout)
    c.raise_orchestration_event(iid, "go")
    state = finish(c, iid, timeout)
    return {**expect_output(state, "finished"), "custom_status": state.serialized_custom_status}


def sc_rewind(c, iid, timeout):
    c.schedule_new_orchestration(rewind_orch, instance_id=iid)
    finish(c, iid, timeout, OrchestrationStatus.FAILED)
    c.rewind_orchestration(iid, reason="the activity is fixed")
    # The rewind is a message: the instance reads FAILED until the host has taken it.
    state = poll(c, iid, lambda s: s.runtime_status == OrchestrationStatus.COMPLETED,
                 "COMPLETED after the rewind", timeout)
    return expect_output(state, "recovered")


def sc_query(c, iid, timeout):
    ids = [f"{iid}-q{i}" for i in range(2)]
    for one in ids:
        c.schedule_new_orchestration(hello_chain, instance_id=one)
    for one in ids:
        finish(c, one, timeout)
    query = OrchestrationQuery(instance_id_prefix=f"{iid}-q", fetch_inputs_and_outputs=True,
                               runtime_status=[OrchestrationStatus.COMPLETED])
    states = c.get_all_orchestration_states(query)
    found = sorted(s.instance_id for s in states)
    check(found == ids, f"query found {found}, want {ids}")
    check(all(s.name == "hello_chain" for s in states), "a queried instance has another name")
    check(all(s.get_output() == [f"Hello {x}!" for x in CITIES] for s in states), "outputs differ")
    return {"found": found}


def sc_list_instance_ids(c, iid, timeout):
    since = datetime.now(timezone.utc)
    ids = [f"{iid}-{i}" for i in range(3)]
    for one in ids:
        c.schedule_new_orchestration(hello_chain, instance_id=one)
    for one in ids:
        finish(c, one, timeout)
    listed, token, pages = [], None, 0
    while True:
        page = c.list_instance_ids(runtime_status=[OrchestrationStatus.COMPLETED],
                                   completed_time_from=since, page_size=2,
                                   continuation_token=token)
        listed += page.items
        pages += 1
        token = page.continuation_token
        if token is None:
            break
    check(set(ids) <= set(listed), f"listed {listed}, want {ids} among them")
    failed = c.list_instance_ids(runtime_status=[OrchestrationStatus.FAILED],
                                 completed_time_from=since)
    check(not set(ids) & set(failed.items), f"completed instances listed as failed: {failed.items}")
    return {"listed": len(listed), "pages": pages}


def sc_purge_by_filter(c, iid, timeout):
    since = datetime.now(timezone.utc)
    c.schedule_new_orchestration(hello_chain, instance_id=iid)
    finish(c, iid, timeout)
    result = c.purge_orchestrations_by(created_time_from=since,
                                       created_time_to=datetime.now(timezone.utc),
                                       runtime_status=[OrchestrationStatus.COMPLETED])
    check(result.deleted_instance_count >= 1, f"purge deleted {result.deleted_instance_count}")
    check(c.get_orchestration_state(iid) is None, "instance still exists after purge")
    return {"deleted": result.deleted_instance_count}


def sc_scheduled_start(c, iid, timeout):
    began = time.monotonic()
    at = datetime.now(timezone.utc) + timedelta(seconds=2)
    c.schedule_new_orchestration(hello_chain, instance_id=iid, start_at=at)
    state = c.get_orchestration_state(iid)
    check(state is not None and state.runtime_status == OrchestrationStatus.PENDING,
          f"before its start time: {state.runtime_status.name if state else None}")
    detail = expect_output(finish(c, iid, timeout), [f"Hello {city}!" for city in CITIES])
    took = time.monotonic() - began
    check(took >= 1.9, f"started 2 s later, completed after {took:.2f} s")
    return {**detail, "seconds": round(took, 2)}


def sc_tags(c, iid, timeout):
    # The tags are checked through the host's HTTP API (the SDK's state has no tags).
    c.schedule_new_orchestration(hello_chain, instance_id=iid, tags={"team": "python"})
    return expect_output(finish(c, iid, timeout), [f"Hello {city}!" for city in CITIES])


def sc_python_entity(c, iid, timeout):
    c.schedule_new_orchestration(entity_orch, input=iid, instance_id=iid)
    state = finish(c, iid, timeout)
    out = state.get_output()
    check(out["after_add"] == 5, f"after add: {out}")
    check(out["locked_get"] == 5, f"get under the lock: {out}")
    check(out["failed"] is not None and "nope" in out["failed"], f"failing call: {out}")
    return {"output": out}


def sc_mixed_python_calls_rust_entity(c, iid, timeout):
    c.schedule_new_orchestration(calls_rust_entity, input=iid, instance_id=iid)
    return expect_output(finish(c, iid, timeout), 5)


def sc_mixed_python_calls_rust(c, iid, timeout):
    c.schedule_new_orchestration(python_calls_rust, instance_id=iid)
    return expect_output(finish(c, iid, timeout), "Hello Python from Rust")


def poll_entity(c: TaskHubGrpcClient, entity: EntityInstanceId, pred, what: str, timeout: float):
    """Reads the entity (with its state) until `pred` holds for the answer (None = no entity)."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = c.get_entity(entity)
        if pred(metadata):
            return metadata
        if time.monotonic() > deadline:
            got = metadata.get_state() if metadata else "no entity"
            raise AssertionError(f"timed out waiting for {what} (last state: {got})")
        time.sleep(0.1)


def sc_entity_signal_and_get(c, iid, timeout):
    # `counter` is the Rust host's entity; the SDK's client signals, reads and lists it.
    entity = EntityInstanceId("counter", iid)
    check(c.get_entity(entity) is None, "the entity exists before any signal")
    c.signal_entity(entity, "add", 5)
    c.signal_entity(entity, "add", 3)
    metadata = poll_entity(c, entity, lambda m: m is not None and m.get_typed_state() == 8,
                           "state 8", timeout)
    check(metadata.id == entity, f"entity id {metadata.id}, want {entity}")
    check(metadata.get_state() == "8", f"serialized state {metadata.get_state()!r}, want '8'")
    check(metadata.backlog_queue_size == 0, f"backlog {metadata.backlog_queue_size}")
    check(metadata.get_locked_by() is None, "locked without a lock holder")
    bare = c.get_entity(entity, include_state=False)
    check(bare is not None and bare.get_state() is None, "a read without state has state")
    # The name part of a prefix is not case-sensitive, and the leading '@' may be left out.
    found = {}
    for prefix in (str(entity), f"Counter@{iid[:-4]}"):
        listed = c.get_all_entities(EntityQuery(instance_id_starts_with=prefix))
        ids = [str(m.id) for m in listed]
        check(ids == [str(entity)], f"prefix {prefix!r} listed {ids}, want [{str(entity)!r}]")
        check(listed[0].get_typed_state() == 8, f"listed state {listed[0].get_state()!r}")
        found[prefix] = ids
    return {"state": metadata.get_typed_state(), "found": found}


def sc_entity_clean_storage(c, iid, timeout):
    # An entity whose state is deleted is empty: clean-up removes its row.
    entity = EntityInstanceId("counter", iid)
    c.signal_entity(entity, "add", 1)
    poll_entity(c, entity, lambda m: m is not None, "the entity", timeout)
    c.signal_entity(entity, "delete")
    poll_entity(c, entity, lambda m: m is None, "the state deleted", timeout)
    result = c.clean_entity_storage()
    check(isinstance(result.empty_entities_removed, int)
          and isinstance(result.orphaned_locks_released, int), f"result {result}")
    check(result.empty_entities_removed >= 1, f"{result}: the emptied entity was not removed")
    check(result.orphaned_locks_released == 0, f"{result}: no lock was orphaned")
    query = EntityQuery(instance_id_starts_with=str(entity), include_transient=True)
    left = [str(m.id) for m in c.get_all_entities(query)]
    check(left == [], f"still listed after the clean-up: {left}")
    again = c.clean_entity_storage()
    check(again.empty_entities_removed == 0, f"a second clean-up removed more: {again}")
    return {"empty_entities_removed": result.empty_entities_removed,
            "orphaned_locks_released": result.orphaned_locks_released}


SCENARIOS = {
    "chain": sc_chain,
    "fan_out_fan_in": sc_fan_out_fan_in,
    "timer": sc_timer,
    "external_event": sc_external_event,
    "external_event_timeout": sc_external_event_timeout,
    "sub_orchestration": sc_sub_orchestration,
    "retries": sc_retries,
    "activity_failure": sc_activity_failure,
    "continue_as_new": sc_continue_as_new,
    "continue_as_new_version": sc_continue_as_new_version,
    "terminate": sc_terminate,
    "suspend_resume": sc_suspend_resume,
    "purge": sc_purge,
    "custom_status": sc_custom_status,
    "rewind": sc_rewind,
    "query": sc_query,
    "purge_by_filter": sc_purge_by_filter,
    "list_instance_ids": sc_list_instance_ids,
    "scheduled_start": sc_scheduled_start,
    "tags": sc_tags,
    "python_entity": sc_python_entity,
    "mixed_python_calls_rust": sc_mixed_python_calls_rust,
    "mixed_python_calls_rust_entity": sc_mixed_python_calls_rust_entity,
    "entity_signal_and_get": sc_entity_signal_and_get,
    "entity_clean_storage": sc_entity_clean_storage,
}
NEEDS_MIXED = {"mixed_python_calls_rust", "mixed_python_calls_rust_entity", "entity_signal_and_get",
               "entity_clean_storage"}

# --- commands ----------------------------------------------------------------------------------


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def names(arg):
    chosen = [n for n in (arg or "").split(",") if n]
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return chosen


def cmd_worker(args):
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    w = new_worker(args.address, args.work_item_filters)
    w.start()
    print("worker ready", flush=True)
    while not stop.wait(0.5):
        pass
    stop_worker(w)
    return 0


def cmd_scenarios(args):
    only, skip = names(args.only), set(names(args.skip))
    selected = [n for n in (only or SCENARIOS)
                if n not in skip and (n not in NEEDS_MIXED or args.mixed or n in only)]
    w = new_worker(args.address, args.work_item_filters)
    w.start()
    passed = failed = 0
    try:
        with TaskHubGrpcClient(host_address=args.address) as c:
            for name in selected:
                iid = f"{name}-{uuid.uuid4().hex}"
                try:
                    detail, ok = SCENARIOS[name](c, iid, args.timeout), True
                except Exception as e:  # noqa: BLE001 - every failure becomes a report line
                    detail, ok = f"{type(e).__name__}: {e}", False
                passed, failed = passed + ok, failed + (not ok)
                emit({"scenario": name, "ok": ok, "instance_id": iid, "detail": detail})
    finally:
        stop_worker(w)
    emit({"done": True, "passed": passed, "failed": failed})
    return 0 if failed == 0 and passed == len(selected) else 1


def cmd_start(args):
    data = json.loads(args.input) if args.input is not None else None
    with TaskHubGrpcClient(host_address=args.address) as c:
        ids = [c.schedule_new_orchestration(args.orchestration, input=data,
                                            instance_id=f"{args.orchestration}-{uuid.uuid4().hex}")
               for _ in range(args.count)]
    emit({"ids": ids})
    return 0


def parsed(serialized):
    return None if serialized is None else json.loads(serialized)


def cmd_wait(args):
    deadline = time.monotonic() + args.timeout
    results = {}
    with TaskHubGrpcClient(host_address=args.address) as c:
        for iid in [i for i in args.ids.split(",") if i]:
            try:
                state = c.wait_for_orchestration_completion(
                    iid, timeout=max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                results[iid] = {"status": "TIMED_OUT", "output": None}
                continue
            if state is None:
                results[iid] = {"status": "NOT_FOUND", "output": None}
                continue
            result = {"status": state.runtime_status.name, "output": parsed(state.serialized_output)}
            if state.failure_details is not None:
                result["failure"] = state.failure_details.message
            results[iid] = result
    emit({"results": results})
    return 0


def cmd_status(args):
    with TaskHubGrpcClient(host_address=args.address) as c:
        state = c.get_orchestration_state(args.id)
    if state is None:
        emit({"status": None, "output": None, "custom_status": None, "exists": False})
    else:
        emit({"status": state.runtime_status.name, "output": parsed(state.serialized_output),
              "custom_status": parsed(state.serialized_custom_status), "exists": True})
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default=os.environ.get("DURABLETASK_ADDRESS", "localhost:4001"),
                   help="the gRPC backend, HOST:PORT")
    sub = p.add_subparsers(dest="command", required=True)

    def with_worker_options(sp):
        sp.add_argument("--log", help="append one JSON line per activity execution to this file")
        sp.add_argument("--work-item-filters", action="store_true",
                        help="send workItemFilters (the registered names) in GetWorkItems")
        sp.add_argument("--no-rust-names", action="store_true", help="accepted; no effect")
        return sp

    with_worker_options(sub.add_parser("worker", help="run a worker until SIGTERM/SIGINT"))
    sp = with_worker_options(sub.add_parser("scenarios", help="run the scenarios"))
    sp.add_argument("--only", help="comma-separated scenario names")
    sp.add_argument("--skip", help="comma-separated scenario names")
    sp.add_argument("--mixed", action="store_true",
                    help="also run the scenarios that need the Rust host (NEEDS_MIXED)")
    sp.add_argument("--timeout", type=float, default=60.0, help="seconds per wait (default 60)")
    sp = sub.add_parser("start", help="schedule N instances of an orchestration by name")
    sp.add_argument("--orchestration", required=True)
    sp.add_argument("--count", type=int, default=1)
    sp.add_argument("--input", help="JSON input")
    sp = sub.add_parser("wait", help="wait for instances to finish")
    sp.add_argument("--ids", required=True, help="comma-separated instance ids")
    sp.add_argument("--timeout", type=float, default=60.0, help="seconds for all (default 60)")
    sp = sub.add_parser("status", help="one instance's state")
    sp.add_argument("--id", required=True)
    args = p.parse_args(argv)

    set_log(getattr(args, "log", None))
    command = {"worker": cmd_worker, "scenarios": cmd_scenarios, "start": cmd_start,
               "wait": cmd_wait, "status": cmd_status}[args.command]
    code = command(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK may leave non-daemon threads behind


if __name__ == "__main__":
    main()
