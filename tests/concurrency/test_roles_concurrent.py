"""Functions running at once on threads (as the local stack runs them) each sign with their own
role's keys: the keys follow the invocation, and the worker pools it starts, never another
function's. A call signed with the wrong role would be refused (the status page's role may not
write deliveries; an ingest role may not read the status index), so no refusal means no mix-up."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from alertbridge import runtime
from alertbridge_tools import moto_iam
from alertbridge_tools.harness import Harness

from tests.conftest import sample

ROUNDS = 20


def test_concurrent_functions_each_sign_as_their_own_role(server_stack: Harness) -> None:
    services = [runtime.source_store().create_service(name).id for name in ("api", "db", "queue", "web")]
    for made in services:  # public: the page reads them on a pool of threads, as the function does
        public = server_stack.call("PATCH", f"/api/services/{made}", {"public": True})
        assert public.status == 200, public.body
    service_id = services[0]
    _, token = server_stack.add_source(service_id, "kapacitor")
    mark = moto_iam.RECORD.mark()
    start = threading.Barrier(3)

    def webhooks() -> list[int]:
        start.wait()
        body = json.loads(sample("kapacitor-critical.json"))
        return [
            server_stack.post("kapacitor", token, json.dumps({**body, "id": f"cpu/{i}"}).encode()).status
            for i in range(ROUNDS)
        ]

    def pages() -> list[int]:
        start.wait()
        return [server_stack.call("GET", "/status.json").status for _ in range(ROUNDS)]

    def operator() -> list[int]:  # the tests' own calls, outside any function, at the same time
        start.wait()
        return [len(runtime.source_store().list_sources(service_id)) for _ in range(ROUNDS)]

    with ThreadPoolExecutor(3) as pool:
        sent, shown, listed = (
            f.result() for f in [pool.submit(webhooks), pool.submit(pages), pool.submit(operator)]
        )
    assert sent == [202] * ROUNDS and shown == [200] * ROUNDS and listed == [1] * ROUNDS
    server_stack.pump()
    calls = moto_iam.RECORD.since(mark)
    assert all(call.allowed for call in calls)
    by = {call.function for call in calls}
    assert {"KapacitorIngestFunction", "StatusFunction", "IncidentFunction"} <= by
    # The status function reads its services on a pool of threads: those calls are its own too
    # (a page it builds, kept for a few seconds: a Query of the service list, then two per public
    # service, on the pool; calls from a pool that lost the invocation's keys would be missing).
    queries = [c for c in calls if c.function == "StatusFunction" and c.operation == "Query"]
    assert len(queries) >= 1 + 2 * len(services), len(queries)
    assert not any(c.function == "StatusFunction" and c.operation == "PutItem" for c in calls)
