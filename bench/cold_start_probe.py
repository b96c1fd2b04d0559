"""One cold start, measured inside a fresh interpreter: import a function's handler module (its
init runs: clients created, no network), or the floor: `import boto3, pydantic` + the same clients.
Prints {"ms": ..., "clients": [...], "modules": [...]}: the AWS clients that exist once init is done
(for a function, the floor creates those) and the alertbridge modules it loaded. Target "nothing"
does no work between the clock readings and, like any target with a third argument "bare", prints
nothing: what an instruction count (valgrind) must subtract. Used by bench/run.py and
tests/meta/test_packaging.py; not meant to be run by hand."""

import gc
import importlib.util
import json
import os
import sys
import time

os.environ.update(
    TABLE_NAME="alertbridge-bench",
    BUS_NAME="alertbridge-bench",
    RAW_BUCKET="alertbridge-bench",
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",  # noqa: S106  (no network: not a credential)
    AWS_DEFAULT_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="bench",
    # The notifier's and the checker's (template.yaml gives them these; nothing is called at init)
    CHANNEL_KEY_ARN="arn:aws:kms:us-east-1:123456789012:key/bench",
    NOTIFICATIONS_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:alertbridge-bench",
    NOTIFY_QUEUE_URL="https://sqs.us-east-1.amazonaws.com/123456789012/alertbridge-bench",
    NOTIFY_DLQ_URL="https://sqs.us-east-1.amazonaws.com/123456789012/alertbridge-bench-dlq",
)
target, clients = sys.argv[1], sys.argv[2].split(",") if len(sys.argv) > 2 and sys.argv[2] else []
bare = target == "nothing" or sys.argv[3:] == ["bare"]
start = time.perf_counter()
if target == "nothing":
    pass
elif target == "floor":
    import boto3
    import pydantic  # noqa: F401

    for name in clients:
        boto3.client(name)
else:
    spec = importlib.util.spec_from_file_location("app", target)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
elapsed_ms = (time.perf_counter() - start) * 1000
if bare:
    sys.exit(0)

from botocore.client import BaseClient  # noqa: E402  (after the clock: already imported by both)

created = sorted(o.meta.service_model.service_name for o in gc.get_objects() if isinstance(o, BaseClient))
ours = sorted(m for m in sys.modules if m.startswith("alertbridge"))
print(json.dumps({"ms": round(elapsed_ms, 3), "clients": created, "modules": ours}))
