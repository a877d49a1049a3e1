"""Drives a running durable host with the real, unmodified Python client.

Usage: python drive_client.py RPC_BASE_URL
  e.g. http://127.0.0.1:7071/runtime/webhooks/durabletask/

The host must serve the functions of tests/src/bin/api_test_app.rs. Every check runs in
order; the last line printed is `SUMMARY {"passed": [...], "failed": {...}}` (JSON) and the
exit code is 0 only if every check passed.
"""

import asyncio
import json
import sys
import time
import traceback
from datetime import datetime, timedelta

import azure.functions as func
from azure.durable_functions import DurableOrchestrationClient, OrchestrationRuntimeStatus

S = OrchestrationRuntimeStatus
TERMINAL = {S.Completed, S.Failed, S.Terminated, S.Canceled}


def binding(rpc_base_url: str) -> str:
    """The client binding JSON the extension hands a Python function (spec §5.1)."""
    base = rpc_base_url.rstrip("/")
    common = "taskHub=TestHubName&connection=Storage"
    inst = f"{base}/instances/INSTANCEID"
    return json.dumps({
        "taskHubName": "TestHubName",
        "creationUrls": {
            "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{common}",
            "createAndWaitOnNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                                                 f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{common}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{inst}?{common}",
            "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{common}",
            "terminatePostUri": f"{inst}/terminate?reason={{text}}&{common}",
            "rewindPostUri": f"{inst}/rewind?reason={{text}}&{common}",
            "purgeHistoryDeleteUri": f"{inst}?{common}",
            "restartPostUri": f"{inst}/restart?{common}",
            "suspendPostUri": f"{inst}/suspend?reason={{text}}&{common}",
            "resumePostUri": f"{inst}/resume?reason={{text}}&{common}",
        },
        "baseUrl": base,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": rpc_base_url,
    })


async def wait_for(client, instance_id, pred, timeout=30.0):
    """Polls get_status until pred(status) holds."""
    deadline = time.monotonic() + timeout
    while True:
        status = await client.get_status(instance_id)
        if status and pred(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"{instance_id}: condition not reached; last status "
                                 f"{status.runtime_status if status else None}")
        await asyncio.sleep(0.05)


async def wait_done(client, instance_id):
    return await wait_for(client, instance_id, lambda s: s.runtime_status in TERMINAL)


async def raises(coro, needle=""):
    """Asserts the call raises, with `needle` in the message."""
    try:
        await coro
    except Exception as e:  # the client raises plain Exceptions
        assert needle in str(e), f"expected {needle!r} in {e!r}"
        return str(e)
    raise AssertionError("expected an exception")


class Checks:
    def __init__(self, client):
        self.c = client
        self.started = datetime.utcnow() - timedelta(minutes=1)

    async def start_new_and_get_status(self):
        c = self.c
        iid = await c.start_new("echo", None, {"a": 1, "b": [True, None]})
        assert isinstance(iid, str) and len(iid) == 32, iid
        status = await wait_done(c, iid)
        assert status.runtime_status == S.Completed, status.runtime_status
        # the client double-encodes: the input is the JSON string, echoed back
        assert json.loads(status.output) == {"a": 1, "b": [True, None]}, status.output
        assert status.name == "echo" and status.instance_id == iid
        assert status.created_time is not None and status.last_updated_time is not None
        # the client sends showInput only when true; the server's default shows the input
        assert json.loads(status.input_) == {"a": 1, "b": [True, None]}, status.input_
        # a given id, and no input
        assert await c.start_new("echo", "py-echo-1") == "py-echo-1"
        status = await wait_done(c, "py-echo-1")
        assert status.runtime_status == S.Completed and status.output is None

    async def get_status_with_history(self):
        c = self.c
        await c.start_new("flaky_chain", "py-hist", 1)
        await wait_done(c, "py-hist")
        status = await c.get_status("py-hist", show_history=True, show_history_output=True,
                                    show_input=True)
        events = getattr(status, "historyEvents")
        kinds = [e["EventType"] for e in events]
        assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskFailed",
                         "ExecutionCompleted"], kinds
        assert events[0]["FunctionName"] == "flaky_chain"
        assert events[1]["FunctionName"] == "add_one" and events[1]["Result"] == 2, events[1]
        assert events[3]["OrchestrationStatus"] == "Failed"
        plain = await c.get_status("py-hist", show_history=True)
        assert "Result" not in getattr(plain, "historyEvents")[1]
        missing = await c.get_status("py-no-such-instance")
        assert not missing, "an unknown instance gives a falsy status"

    async def raise_event(self):
        c = self.c
        await c.start_new("wait_event", "py-wait")
        await wait_for(c, "py-wait", lambda s: s.runtime_status == S.Running)
        await c.raise_event("py-wait", "Go", {"approved": True})
        status = await wait_done(c, "py-wait")
        assert status.runtime_status == S.Completed
        assert json.loads(status.output) == {"approved": True}, status.output
        await raises(c.raise_event("py-wait", "Go", 1), "is gone")
        await raises(c.raise_event("py-missing", "Go", 1), "No instance")
        # The client encodes inputs and payloads twice (True arrives as the JSON string
        # "true"); a typed Rust orchestrator reads them as the values they encode.
        await c.start_new("typed_approval", "py-typed", 5)
        await wait_for(c, "py-typed", lambda s: s.runtime_status == S.Running)
        await c.raise_event("py-typed", "Approve", True)
        status = await wait_done(c, "py-typed")
        assert status.runtime_status == S.Completed, status.output
        assert status.output == "5 true", status.output

    async def terminate(self):
        c = self.c
        await c.start_new("wait_event", "py-term")
        await wait_for(c, "py-term", lambda s: s.runtime_status == S.Running)
        await c.terminate("py-term", "no longer needed & done")
        status = await wait_done(c, "py-term")
        assert status.runtime_status == S.Terminated
        assert status.output == "no longer needed & done", status.output
        await c.terminate("py-term", "again")  # 410 is accepted by the client
        await raises(c.terminate("py-missing", "x"), "No instance")

    async def suspend_and_resume(self):
        c = self.c
        await c.start_new("wait_event", "py-susp")
        await wait_for(c, "py-susp", lambda s: s.runtime_status == S.Running)
        await c.suspend("py-susp", "hold on")
        await wait_for(c, "py-susp", lambda s: s.runtime_status == S.Suspended)
        await c.resume("py-susp", "go on")
        await wait_for(c, "py-susp", lambda s: s.runtime_status == S.Running)
        await c.raise_event("py-susp", "Go", "finally")
        status = await wait_done(c, "py-susp")
        assert status.runtime_status == S.Completed and status.output == '"finally"'

    async def rewind(self):
        c = self.c
        await c.start_new("flaky_chain", "py-rewind", 2)
        status = await wait_done(c, "py-rewind")
        assert status.runtime_status == S.Failed, status.runtime_status
        await c.rewind("py-rewind", "the bug is fixed")
        status = await wait_for(c, "py-rewind", lambda s: s.runtime_status == S.Completed)
        assert status.output == 31, status.output  # (2 + 1) * 10 + 1
        await raises(c.rewind("py-rewind", "again"), "only supported on failed")
        await raises(c.rewind("py-missing", "x"), "No instance")

    async def query(self):
        c = self.c
        everything = await c.get_status_all()
        ids = {s.instance_id for s in everything}
        assert {"py-echo-1", "py-wait", "py-term"} <= ids, ids
        completed = await c.get_status_by(created_time_from=self.started,
                                          created_time_to=datetime.utcnow() + timedelta(minutes=1),
                                          runtime_status=[S.Completed])
        assert completed and all(s.runtime_status == S.Completed for s in completed)
        assert "py-term" not in {s.instance_id for s in completed}
        both = await c.get_status_by(runtime_status=[S.Completed, S.Terminated])
        assert "py-term" in {s.instance_id for s in both}
        none = await c.get_status_by(created_time_from=datetime.utcnow() + timedelta(days=1))
        assert none == [], none

    async def start_errors(self):
        c = self.c
        message = await raises(c.start_new("no_such_orchestrator", None, 1))
        assert "no_such_orchestrator" in message, message
        await c.start_new("wait_event", "py-dup")
        await raises(c.start_new("wait_event", "py-dup"))
        await c.terminate("py-dup", "cleanup")

    async def restart(self):
        c = self.c
        result = await c.restart("py-echo-1", restart_with_new_instance_id=False)
        # the SDK returns the response body: the check-status payload
        assert result["id"] == "py-echo-1", result
        await wait_done(c, "py-echo-1")

    async def wait_or_check_status(self):
        c = self.c
        req = func.HttpRequest(method="GET", url="http://example.test/api/x", body=b"")
        iid = await c.start_new("echo", None, [1, 2])
        resp = await c.wait_for_completion_or_create_check_status_response(req, iid, 10000, 100)
        # the output is the (double-encoded) string '[1, 2]', sent as the raw body
        assert resp.status_code == 200 and resp.get_body() == b"[1, 2]", resp.get_body()
        await c.start_new("wait_event", "py-slow")
        resp = await c.wait_for_completion_or_create_check_status_response(
            req, "py-slow", 300, 100)
        assert resp.status_code == 202
        payload = json.loads(resp.get_body())
        assert payload["statusQueryGetUri"].startswith("http://example.test/"), payload
        await c.terminate("py-slow", "cleanup")

    async def purge(self):
        c = self.c
        result = await c.purge_instance_history("py-hist")
        assert result.instances_deleted == 1, result.instances_deleted
        result = await c.purge_instance_history("py-hist")
        assert result.instances_deleted == 0
        await wait_done(c, "py-dup")
        await wait_done(c, "py-slow")
        result = await c.purge_instance_history_by(
            created_time_from=self.started,
            created_time_to=datetime.utcnow() + timedelta(minutes=1),
            runtime_status=[S.Completed, S.Terminated])
        assert result.instances_deleted >= 6, result.instances_deleted
        remaining = await c.get_status_by(runtime_status=[S.Completed, S.Terminated])
        assert remaining == [], [s.instance_id for s in remaining]
        result = await c.purge_instance_history_by(created_time_from=self.started)
        assert result.instances_deleted == 0


async def main(rpc_base_url: str) -> int:
    client = DurableOrchestrationClient(binding(rpc_base_url))
    checks = Checks(client)
    names = ["start_new_and_get_status", "get_status_with_history", "raise_event", "terminate",
             "suspend_and_resume", "rewind", "query", "start_errors", "restart",
             "wait_or_check_status", "purge"]
    passed, failed = [], {}
    for name in names:
        began = time.monotonic()
        try:
            await getattr(checks, name)()
            passed.append(name)
            print(f"ok   {name} ({time.monotonic() - began:.2f}s)", flush=True)
        except Exception as e:  # report every check, keep going
            failed[name] = f"{type(e).__name__}: {e}"
            print(f"FAIL {name}: {e}", flush=True)
            traceback.print_exc()
    try:  # the SDK keeps one shared aiohttp session; close it to exit cleanly
        from azure.durable_functions.models.utils import http_utils
        await http_utils._close_session()
    except Exception:
        pass
    print("SUMMARY " + json.dumps({"passed": passed, "failed": failed}), flush=True)
    return 0 if not failed else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
