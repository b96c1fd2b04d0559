"""A DynamoDB Streams -> function poller that behaves like Lambda's stream event source mapping.

Per shard, records in their order, in batches of up to ``batch_size``, as Lambda's DynamoDB event
(``eventID``, ``eventName``, ``dynamodb`` with Keys, NewImage, OldImage, SequenceNumber,
StreamViewType, ``eventSourceARN``); records the FilterCriteria do not match are skipped (and
checkpointed) before batching. What the handler answers is what Lambda does with it:

- no ``batchItemFailures``: the batch is checkpointed;
- ``{"itemIdentifier": <SequenceNumber>}``: the records before the lowest one named are
  checkpointed and the rest of the batch comes again (exactly that rest, with bisection on); an
  identifier that is empty or names no record of the batch fails the whole batch;
- an exception (an invocation error): the whole batch fails and, with BisectBatchOnFunctionError,
  is split in two halves retried one after the other, down to single records;
- a failed invocation counts as a retry of the batch's first record; after MaximumRetryAttempts
  retries (or once a record is older than MaximumRecordAgeInSeconds) the batch's coordinates go to
  the OnFailure SQS queue in Lambda's format (``DDBStreamBatchInfo``) and the records are skipped.

Locally, retries follow at once (Lambda backs off). Each read goes on from the iterator the last
answer gave (``NextShardIterator``), as Lambda's poller does; a restart asks for one after the
checkpoint (from the oldest record kept when the stream trimmed the records after it). moto's
stream needs ``moto_streams`` (applied by the harness) to hold only committed writes across a
cancelled TransactWriteItems, and to keep records and iterators as long as DynamoDB does.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import ClientError
from moto.events.models import EventPattern

from alertbridge_tools.template import REGION, StreamSource

_log = logging.getLogger("alertbridge.local.streams")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class StreamPollResult:
    records: int = 0  # records given to the function (retries counted again)
    invocations: int = 0
    failed_invocations: int = 0  # errors and partial failures
    dead_lettered: int = 0  # records whose coordinates went to the OnFailure queue


@dataclass
class _Shard:
    shard_id: str
    last_read: str | None = None  # sequence number of the last record read from the stream
    iterator: str | None = None  # where the next read goes on (the last answer's NextShardIterator)
    pending: list[dict[str, Any]] = field(default_factory=list)  # read, matching, not checkpointed
    segments: list[int] = field(default_factory=list)  # sizes of the halves still to retry (bisection)
    attempts: int = 0  # failed invocations since the head record last moved


class StreamPoller:
    def __init__(self, streams: Any, sqs: Any, source: StreamSource, handler: Handler) -> None:
        self._streams = streams
        self._sqs = sqs
        self._source = source
        self._handler = handler
        self._filters = [EventPattern(p, json.loads(p)) for p in source.filters]
        self._position = threading.Lock()  # checkpoints() reads from another thread (the snapshots)
        description = streams.describe_stream(StreamArn=source.stream_arn)["StreamDescription"]
        self._shards = [_Shard(s["ShardId"]) for s in description["Shards"]]
        if source.starting_position == "LATEST":
            for shard in self._shards:
                shard.iterator = streams.get_shard_iterator(
                    StreamArn=source.stream_arn, ShardId=shard.shard_id, ShardIteratorType="LATEST"
                )["ShardIterator"]

    @property
    def table_name(self) -> str:
        """The table whose stream this reads (``arn:...:table/NAME/stream/LABEL``)."""
        return self._source.stream_arn.split(":table/", 1)[1].split("/", 1)[0]

    @property
    def function(self) -> str:
        return self._source.function

    def poll_once(self) -> StreamPollResult:
        """One invocation per shard that has records (none when nothing new was written)."""
        result = StreamPollResult()
        for shard in self._shards:
            self._read(shard)
            if shard.pending:
                self._invoke(shard, result)
        return result

    def drain(self, max_invocations: int = 1000) -> StreamPollResult:
        """Invoke until every shard is read and checkpointed to its end."""
        total = StreamPollResult()
        for _ in range(max_invocations):
            step = self.poll_once()
            if not step.invocations:
                break
            total.records += step.records
            total.invocations += step.invocations
            total.failed_invocations += step.failed_invocations
            total.dead_lettered += step.dead_lettered
        return total

    # --- a checkpoint kept across restarts (the local stack's data directory) -----------------
    def checkpoints(self) -> dict[str, dict[str, str]]:
        """Per shard, where the mapping resumes: at the first record read but not yet done, or
        after the last one read (every record before it done); shards never read are left out."""
        found: dict[str, dict[str, str]] = {}
        with self._position:
            for shard in self._shards:
                if shard.pending:
                    found[shard.shard_id] = {"at": shard.pending[0]["dynamodb"]["SequenceNumber"]}
                elif shard.last_read is not None:
                    found[shard.shard_id] = {"after": shard.last_read}
        return found

    def resume(self, checkpoints: dict[str, dict[str, str]]) -> None:
        """Continue from saved ``checkpoints`` (as a mapping resumes from its own after a restart)."""
        for shard in self._shards:
            saved = checkpoints.get(shard.shard_id)
            if saved is None:
                continue
            shard.pending.clear()
            shard.segments.clear()
            shard.attempts = 0
            if "after" in saved:
                shard.last_read, shard.iterator = saved["after"], None
            else:
                shard.last_read = None
                shard.iterator = self._iterator(
                    shard, {"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": saved["at"]}
                )

    def _iterator(self, shard: _Shard, where: dict[str, str]) -> str:
        """An iterator at ``where``; one in data the stream trimmed (records kept 24 hours: a stack
        stopped for longer) starts at the oldest record kept, as Lambda's mapping goes on."""
        try:
            found: str = self._streams.get_shard_iterator(
                StreamArn=self._source.stream_arn, ShardId=shard.shard_id, **where
            )["ShardIterator"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                raise
            _log.warning(
                "%s: the stream trimmed records it had not read (older than 24 hours); "
                "it reads on from the oldest record kept",
                self.function,
            )
            found = self._streams.get_shard_iterator(
                StreamArn=self._source.stream_arn, ShardId=shard.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        return found

    # --- reading ------------------------------------------------------------------------------
    def _read(self, shard: _Shard) -> None:
        if len(shard.pending) >= self._source.batch_size:
            return
        iterator = shard.iterator
        if iterator is None:  # the first read, or after a restart: from the checkpoint
            where: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_read}
                if shard.last_read is not None
                else {"ShardIteratorType": self._source.starting_position}
            )
            iterator = self._iterator(shard, where)
        # Until this read is taken in: a failed one (an expired iterator, say) reads again from the
        # checkpoint.
        shard.iterator = None
        resp = self._streams.get_records(ShardIterator=iterator, Limit=1000)
        read = [(raw["dynamodb"]["SequenceNumber"], self._record(raw)) for raw in resp.get("Records", [])]
        with self._position:  # what was read and where reading stands move together
            for sequence, record in read:
                shard.last_read = sequence
                if self._matches(record):
                    shard.pending.append(record)
            shard.iterator = resp.get("NextShardIterator")  # none once a shard is closed

    def _matches(self, record: dict[str, Any]) -> bool:
        return not self._filters or any(f.matches_event(cast(Any, record)) for f in self._filters)

    def _record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The record as Lambda's DynamoDB event carries it (JSON: binaries base64, times epoch)."""
        change = dict(raw["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = float(int(created.timestamp()))
        for name in ("Keys", "NewImage", "OldImage"):
            if name in change:
                change[name] = _json_safe(change[name])
        record = {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion", REGION),
            "dynamodb": change,
            "eventSourceARN": self._source.stream_arn,
        }
        identity = raw.get("userIdentity")
        if identity:  # a delete by DynamoDB itself (Time to Live)
            record["userIdentity"] = {
                "type": identity.get("Type"),
                "principalId": identity.get("PrincipalId"),
            }
        return record

    # --- invoking -----------------------------------------------------------------------------
    def _invoke(self, shard: _Shard, result: StreamPollResult) -> None:
        size = shard.segments[0] if shard.segments else self._source.batch_size
        batch = shard.pending[:size]
        from_segment = bool(shard.segments)
        result.invocations += 1
        result.records += len(batch)
        checkpoint: int | None = None  # index of the first record to retry; None: all done
        error = False
        try:
            response = self._handler({"Records": batch}, None) or {}
            if self._source.report_failures:
                checkpoint = self._checkpoint(batch, response.get("batchItemFailures") or [])
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # as Lambda: an invocation error fails the whole batch
            _log.exception("invocation failed; the batch is retried")
            error = True
            checkpoint = 0
        if checkpoint is None:
            self._advance(shard, len(batch))
            return
        result.failed_invocations += 1
        if checkpoint:
            self._advance(shard, checkpoint)
        rest = len(batch) - checkpoint
        shard.attempts += 1
        if self._exhausted(shard, shard.pending[:rest]):
            result.dead_lettered += rest
            self._dead_letter(shard, shard.pending[:rest], error)
            self._advance(shard, rest)
            return
        if not self._source.bisect:
            return
        if error and rest > 1:  # halve the batch: retry the first half, then the second
            halves = [rest - rest // 2, rest // 2]
            shard.segments[:1] = halves
        elif checkpoint and not from_segment:  # a partial failure: retry just the rest of the batch
            shard.segments.insert(0, rest)  # (a segment already shrank to it in _advance)

    def _checkpoint(self, batch: list[dict[str, Any]], failures: list[Any]) -> int | None:
        """The index of the lowest sequence number named; a malformed answer fails the batch (0)."""
        if not failures:
            return None
        position = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        indexes: list[int] = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in position:
                return 0
            indexes.append(position[identifier])
        return min(indexes)

    def _advance(self, shard: _Shard, count: int) -> None:
        """Checkpoint ``count`` records at the head (the current segment shrinks by as many)."""
        with self._position:
            del shard.pending[:count]
        shard.attempts = 0
        if shard.segments:
            shard.segments[0] -= count
            if shard.segments[0] <= 0:
                shard.segments.pop(0)

    def _exhausted(self, shard: _Shard, records: list[dict[str, Any]]) -> bool:
        source = self._source
        if source.max_retries >= 0 and shard.attempts > source.max_retries:
            return True
        if source.max_record_age >= 0 and records:
            age = time.time() - float(records[0]["dynamodb"].get("ApproximateCreationDateTime", time.time()))
            return age > source.max_record_age
        return False

    def _dead_letter(self, shard: _Shard, records: list[dict[str, Any]], error: bool) -> None:
        """What Lambda sends to a stream mapping's OnFailure destination: where the records are."""
        retries_exhausted = self._source.max_retries >= 0 and shard.attempts > self._source.max_retries
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:123456789012:function:{self._source.function}",
                "condition": "RetryAttemptsExhausted" if retries_exhausted else "RecordAgeExceeded",
                "approximateInvokeCount": shard.attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if error else {}),
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": self._source.stream_arn,
            },
        }
        _log.error("stream records sent to the OnFailure destination: %s", message["DDBStreamBatchInfo"])
        if self._source.on_failure_queue_url:
            self._sqs.send_message(
                QueueUrl=self._source.on_failure_queue_url, MessageBody=json.dumps(message)
            )


def _json_safe(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_json_safe(v) for v in value]
    return value


def _iso(epoch: Any) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(float(epoch), UTC).isoformat().replace("+00:00", "Z")
