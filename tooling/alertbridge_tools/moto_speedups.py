"""Faster moto internals for the emulator, same answers.

moto 5.2.5 does work in proportion to a queue's depth or a table's size on every call, with
needless repetition: walking every message of a queue several times, each with two clock reads
(datetime arithmetic). With thousands of messages queued and items stored, as under the load
benchmark, each EventBridge -> SQS delivery, each receive, delete and Query costs milliseconds,
and the emulator, which runs one call at a time per group of services, spends its time there:
- ``Queue.attributes`` walks the queue three times (the three ``Approximate*`` counts), with two
  clock reads per message; ``send_message`` reads it for ``ContentBasedDeduplication``, and
  ``get_queue_attributes`` reads it three times per requested name;
- ``receive_message`` checks each message it hands out against the retention period through
  ``get_queue_attributes``: nine walks of the queue per message received;
- ``Queue.delete_message`` walks the queue twice per receipt handle, testing each message's list of
  every handle it ever had (with 8,000 alerts queued, deleting a batch was a sixth of the CPU),
  and remembers the handles of every message deleted for the life of the queue (here they are
  forgotten once the queue's retention period has passed since the delete);
- DynamoDB's Query walks the whole table (every partition), sorted by key with DynamoType
  comparisons that recompute each side's ``cast_value`` through five type tests: n log n of them
  per Query, and the incident function queries once per alert;
- EventBridge's input transformer (run for every target, even without an ``InputTransformer``)
  builds a jsonpath parser (ply tables) for each of its default paths, for every event.

The replacements below give the same results: one walk with one clock read for the counts, the
retention period read from the queue itself, a message in flight found by its receipt handle
(any other in one walk), a string's cast value answered
first and each item's sort key computed once, parsed jsonpath expressions reused (they are
immutable), a base-table Query walking only its own partition (moto's query is otherwise left
as it is: Queries on an index still walk the table, only cheaper). And:
- moto's response serializer works out, for every field of every response it writes, which
  attribute names the field may have on the object serialized (six alias providers, each built
  anew, and a ``xform_name`` per candidate): a third of the local stack's CPU under load. The
  names depend only on the field's shape, its parent shape, the object's class (and its ``Meta``)
  and the field's key, so they are worked out once per combination;
- the same serializer writes each DynamoDB attribute value (every item of a Query, GetItem or
  stream record: NewImage, OldImage, Keys) field by field through the ``AttributeValue`` shape's
  ten members, though moto keeps it as the JSON the wire carries (``{"S": "x"}``, ``{"M": {...}}``):
  a value made only of strings, numbers, booleans, nulls, sets of those, maps and lists is written
  as it is (binaries still take the long way, which base64-encodes them);
- a DynamoDB item is built attribute by attribute, each set summing the size of every attribute
  already set (the 400 KB limit): quadratic in the attributes, for every item written; the size
  is summed once, with the same limit;
- the emulator's dispatcher, for every request, lists moto's package directory (a ``listdir``
  and ~200 ``stat`` calls) to see whether the host names a backend; the list is read once here;
- every call finds its action's method by listing the response class's functions
  (``inspect.getmembers``, some 4% of the local stack's CPU under load); a class's functions do
  not change while it serves, so each class's list is made once;
- a Query on an index walks the whole table, sorted by the table's key (n log n), then sorts what
  matched by the index's key with the table's key after it (a total order): the first sort decides
  nothing and is skipped; and it deep-copies every full item it matched before projecting the copy
  into a new item: on a KEYS_ONLY or INCLUDE index, the item is projected without the copy;
- the request parser reads every DynamoDB attribute value (each item written, each key and
  expression value) through the ``AttributeValue`` shape's ten members, building a copy of what
  the wire carried; a value without binaries is taken as it is (binaries are still decoded);
- projecting an item (what an index's KEYS_ONLY or INCLUDE projection does to every item a Query
  on it returns) converts the whole item to plain Python once per projected attribute and back:
  a projection of top-level string attributes copies them;
- on the other side of each in-process call, botocore's response parser reads every attribute
  value a client gets back (each item of a Query, GetItem, each stream record's images) the same
  way, member by member: the stream poller spent 43% of its time there. A value
  without binaries is what botocore parses it to, so it is taken as it is.
Each emulated call stays one atomic call (the emulator's locks are untouched). They are applied only to
the moto version they were written against.
"""

from __future__ import annotations

import collections
import functools
import inspect
import json
import threading
import time
import weakref
from importlib.metadata import version
from typing import Any

import jsonpath_ng.ext
from botocore import parsers as botocore_parsers
from moto import backends as moto_backends
from moto.core import parse as parse_module
from moto.core import responses, serialize
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.sqs import models as sqs
from moto.sqs.exceptions import InvalidAttributeName, ReceiptHandleIsInvalid

MOTO_VERSION = "5.2.5"
ORIGINALS: dict[str, Any] = {}  # what was replaced, by name: the tests compare the two

_APPROXIMATE = {
    "ApproximateNumberOfMessages": 0,
    "ApproximateNumberOfMessagesNotVisible": 1,
    "ApproximateNumberOfMessagesDelayed": 2,
}


def _now_ms() -> float:
    return time.time() * 1000.0  # what moto's unix_time_millis() computes, without datetimes


def _counts(queue: Any) -> tuple[int, int, int]:
    """(visible and not delayed, not visible, delayed) in one walk: moto's three properties."""
    now = _now_ms()
    available = not_visible = delayed = 0
    for message in queue._messages:
        is_visible = now > message.visible_at
        is_delayed = now < message.delayed_until
        if is_visible and not is_delayed:
            available += 1
        if not is_visible:
            not_visible += 1
        if is_delayed:
            delayed += 1
    return available, not_visible, delayed


def _attributes(self: Any) -> dict[str, Any]:
    """moto's Queue.attributes, with the three counts from one walk."""
    found = _counts(self)
    names = list(self.BASE_ATTRIBUTES)
    if self.fifo_queue:
        names += self.FIFO_ATTRIBUTES
    if self.kms_master_key_id:
        names += self.KMS_ATTRIBUTES
    result: dict[str, Any] = {}
    for name in names:
        if name in _APPROXIMATE:
            result[name] = found[_APPROXIMATE[name]]
        else:
            result[name] = getattr(self, camelcase_to_underscores(name))
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    return {k: str(v).lower() if isinstance(v, bool) else v for k, v in result.items()}


def _messages(self: Any) -> list[Any]:
    """moto's Queue.messages (visible and not delayed), with one clock read."""
    now = _now_ms()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _get_queue_attributes(self: Any, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    """moto's, reading the queue's attributes once rather than three times per name."""
    queue = self.get_queue(queue_name)
    if not attribute_names:
        return {}
    valid_names = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
    invalid_name = next((name for name in attribute_names if name not in valid_names), None)
    if invalid_name or invalid_name == "":
        raise InvalidAttributeName(invalid_name)
    every: dict[str, Any] = queue.attributes
    if "All" in attribute_names:
        return every
    return {name: every[name] for name in attribute_names if every.get(name) is not None}


def _is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
    """moto's, with the retention period read from the queue rather than all its attributes."""
    retention_period = self.get_queue(queue_name).message_retention_period
    return bool(retention_period + message.sent_timestamp / 1000 > time.time())


# Receipt handle -> the message it was handed out with (weakly: a message deleted or expired goes).
# Not in a snapshot of the data directory: after a restart a handle is found moto's way.
_HANDLES: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def _mark_received(self: Any, visibility_timeout: int | None = None) -> None:
    """moto's Message.mark_received; the new receipt handle is remembered."""
    ORIGINALS["Message.mark_received"](self, visibility_timeout)
    _HANDLES[self.receipt_handle] = self


def _delete_message(self: Any, receipt_handle: str) -> None:
    """moto's Queue.delete_message: every message that ever had this handle goes. A message in
    flight in this queue is found by its handle; any other in one walk of the queue."""
    if receipt_handle in self.deleted_messages:
        return
    found = _HANDLES.get(receipt_handle)
    if found is not None and found in self.pending_messages:
        for index, message in enumerate(self._messages):  # in flight: among the oldest, near the front
            if message is found:
                del self._messages[index]
                break
        gone = [found]
    else:
        kept: list[Any] = []
        gone = []
        for message in self._messages:
            (gone if message.had_receipt_handle(receipt_handle) else kept).append(message)
        if not gone:
            raise ReceiptHandleIsInvalid()
        self._messages = kept
    for message in gone:
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
    _forget_deleted(self, [handle for message in gone for handle in message.all_receipt_handles])


def _forget_deleted(queue: Any, handles: list[str]) -> None:
    """moto remembers every receipt handle of every deleted message, for good (a second delete of
    one succeeds), about three per alert here, all of them in each snapshot. They are remembered
    as long as the queue keeps a message (its retention period) from the delete, then forgotten,
    oldest first; handles from a snapshot that had no such record start their period now."""
    now = _now_ms() / 1000
    kept: collections.deque[tuple[float, list[str]]] | None = getattr(queue, "deleted_until", None)
    if kept is None:
        kept = queue.deleted_until = collections.deque()
        older = sorted(queue.deleted_messages.difference(handles))
        if older:
            kept.append((now + queue.message_retention_period, older))
    kept.append((now + queue.message_retention_period, handles))
    while kept and kept[0][0] <= now:
        queue.deleted_messages.difference_update(kept.popleft()[1])


_PLAIN_TYPES = frozenset({"S", "B", "BOOL"})  # what DynamoType.cast_value returns as it is


def _cast_value(self: Any) -> Any:
    """moto's DynamoType.cast_value, answering strings (every key here) without five type tests."""
    if self.type in _PLAIN_TYPES:
        return self.value
    return ORIGINALS["DynamoType.cast_value"].fget(self)


def _item_order(item: Any) -> Any:
    # moto sorts by (hash_key, range_key) DynamoTypes, which compare by cast_value; a table's key
    # attributes have one type each, so comparing the cast values directly gives the same order
    if item.range_key:
        return (item.hash_key.cast_value, item.range_key.cast_value)
    return item.hash_key.cast_value


_partition = threading.local()  # key: a base-table Query's partition; unsorted, projected: an index Query


def _all_items(self: Any) -> list[Any]:
    """moto's Table.all_items (every item, in key order; what each Query walks), with each item's
    sort key computed once rather than at each of the n log n comparisons. Inside a base-table
    Query, only the queried partition: the one place it is called there keeps just the items whose
    hash key equals the queried one, which are that partition's (``items`` is keyed by hash key)."""
    key = getattr(_partition, "key", None)
    if key is None:
        partitions: Any = self.items.values()
    else:
        partitions = [self.items[key]] if key in self.items else []
    items: list[Any] = []
    for hash_set in partitions:
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    if getattr(_partition, "unsorted", False):
        return items
    return sorted(items, key=_item_order)


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's Table.query; a base-table Query (no index) walks only its partition, an index Query
    walks the table unsorted (see _all_items)."""
    query = ORIGINALS["Table.query"]
    bound = _QUERY_SIGNATURE.bind(self, *args, **kwargs).arguments
    hash_key = bound.get("hash_key")
    index_name = bound.get("index_name")
    if index_name:
        _partition.unsorted = True
        projection = (self.get_index(index_name).projection or {}).get("ProjectionType")
        _partition.projected = projection in _PROJECTIONS_THAT_COPY
    elif hash_key is not None:
        _partition.key = hash_key
    try:
        return query(self, *args, **kwargs)
    finally:
        _partition.key = None
        _partition.unsorted = False
        _partition.projected = False


_PROJECTIONS_THAT_COPY = frozenset({"KEYS_ONLY", "INCLUDE"})  # SecondaryIndex.project builds new items


def _item_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """moto's Item.__deepcopy__; inside a Query on a KEYS_ONLY or INCLUDE index, the item itself:
    the Query copies every full item it found and then projects each copy, and the projection
    builds a new item, so the copy was thrown away (an eighth of the CPU of a listing of 2,000
    incidents)."""
    if getattr(_partition, "projected", False):
        return self
    return ORIGINALS["Item.__deepcopy__"](self, memo)


_QUERY_SIGNATURE = inspect.signature(Table.query)  # moto's, read before apply() replaces it
_METHOD_NAMES: dict[Any, list[str]] = {}


def _method_names(clazz: Any) -> list[str]:
    """moto's method_names_from_class, listed once per class."""
    found = _METHOD_NAMES.get(clazz)
    if found is None:
        found = _METHOD_NAMES[clazz] = ORIGINALS["responses.method_names_from_class"](clazz)
    return found


_POSSIBLE_KEYS: dict[tuple[Any, ...], tuple[str, ...]] = {}
_KEPT: list[Any] = []  # what the ids in _POSSIBLE_KEYS name, kept alive so no id is reused
_MAX_POSSIBLE_KEYS = 100_000  # shapes are a service model's (a few thousand); a bound all the same


def _possible_keys(self: Any, context: Any) -> Any:
    """moto's XFormedAttributePicker.get_possible_keys, each answer worked out once (see the module)."""
    shape = context.shape
    parent = getattr(shape, "parent", None)
    meta = getattr(context.obj, "Meta", None)
    key = (
        type(self),
        tuple(self.alias_providers),
        id(shape),
        id(parent),
        type(context.obj),
        id(meta),
        context.key,
    )
    found = _POSSIBLE_KEYS.get(key)
    if found is None:
        found = tuple(ORIGINALS["XFormedAttributePicker.get_possible_keys"](self, context))
        if len(_POSSIBLE_KEYS) >= _MAX_POSSIBLE_KEYS:
            _POSSIBLE_KEYS.clear()
            _KEPT.clear()
        _KEPT.append((shape, parent, meta))
        _POSSIBLE_KEYS[key] = found
    return iter(found)


def _project(self: Any, projection_expressions: list[list[str]]) -> Any:
    """moto's Item.project; top-level string attributes copied (their round trip through plain
    Python gives them back unchanged), anything else moto's way."""
    names = [e[0] for e in projection_expressions if len(e) == 1 and "[" not in e[0]]  # not a list index
    if len(names) != len(projection_expressions) or any(
        name in self.attrs and self.attrs[name].type != "S" for name in names
    ):
        return ORIGINALS["Item.project"](self, projection_expressions)
    kept = {name: {"S": self.attrs[name].value} for name in names if name in self.attrs}
    return Item(hash_key=self.hash_key, range_key=self.range_key, attrs=kept)


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's Item.__init__: the item's size summed once (moto sums everything set so far at each
    attribute; with positive sizes, some partial sum is over the limit exactly when the total is)."""
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > _ITEM_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)  # its update() does not check: checked just above


_ITEM_LIMIT = 405000  # moto's LimitedSizeDict limit (DynamoDB's 400 KB, measured 409-410 KB)


def _wire_ready(value: Any) -> bool:
    """An attribute value as moto keeps it that is, as it is, what the wire carries (no binary)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return isinstance(inner, str)
    if kind == "BOOL":
        return isinstance(inner, bool)
    if kind == "NULL":
        return inner is True
    if kind in ("SS", "NS"):
        return isinstance(inner, list) and all(isinstance(member, str) for member in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(
            isinstance(name, str) and _wire_ready(member) for name, member in inner.items()
        )
    if kind == "L":
        return isinstance(inner, list) and all(_wire_ready(member) for member in inner)
    return False


def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    """moto's JSON structure serializer; a DynamoDB attribute value already in wire form as it is."""
    if key and shape.name == "AttributeValue" and _wire_ready(value):
        serialized[self.get_serialized_name(shape, key)] = value
        return
    ORIGINALS["BaseJSONSerializer._serialize_type_structure"](self, serialized, value, shape, key)


_ATTRIBUTE_VALUE_MEMBERS = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})


def _is_attribute_value(shape: Any) -> bool:
    """DynamoDB's (and DynamoDB Streams') ``AttributeValue``, not another service's namesake."""
    return bool(shape.name == "AttributeValue" and shape.members.keys() == _ATTRIBUTE_VALUE_MEMBERS)


def _wire_ready_item(value: Any) -> bool:
    """An item (names to attribute values) in wire form, without binaries."""
    return type(value) is dict and all(
        isinstance(name, str) and _wire_ready(member) for name, member in value.items()
    )


def _parse_structure(self: Any, shape: Any, value: Any) -> Any:
    """moto's JSON request parser for a structure; a DynamoDB attribute value in wire form without
    binaries is what it parses to, so it is taken as it is (parsing copied it member by member,
    trying each of the shape's ten members)."""
    if self.MAP_TYPE is dict and _is_attribute_value(shape) and _wire_ready(value):
        return value
    return ORIGINALS["BaseJSONParser._parse_structure"](self, shape, value)


def _parse_map(self: Any, shape: Any, value: Any) -> Any:
    """moto's map parser; an item (names to attribute values in wire form, no binaries) as it is."""
    if self.MAP_TYPE is dict and _is_attribute_value(shape.value) and _wire_ready_item(value):
        return value
    return ORIGINALS["RequestParser._parse_map"](self, shape, value)


def _handle_structure(self: Any, shape: Any, value: Any) -> Any:
    """botocore's JSON response parser for a structure; an attribute value without binaries as it is."""
    if _is_attribute_value(shape) and _wire_ready(value):
        return value
    return ORIGINALS["botocore BaseJSONParser._handle_structure"](self, shape, value)


def _handle_map(self: Any, shape: Any, value: Any) -> Any:
    """botocore's JSON response parser for a map; an item without binaries as it is."""
    if _is_attribute_value(shape.value) and _wire_ready_item(value):
        return value
    return ORIGINALS["botocore BaseJSONParser._handle_map"](self, shape, value)


def apply() -> bool:
    """Patch moto (once per process); False when the installed moto is not the one these fit."""
    if ORIGINALS:
        return True
    if version("moto") != MOTO_VERSION:
        return False
    parse = jsonpath_ng.ext.parse  # type: ignore[attr-defined]
    modules = tuple(moto_backends.list_of_moto_modules())
    picker: Any = serialize.XFormedAttributePicker
    json_serializer: Any = serialize.BaseJSONSerializer
    queue: Any = sqs.Queue
    backend: Any = sqs.SQSBackend
    response_module: Any = responses
    response_parser: Any = botocore_parsers.BaseJSONParser
    ORIGINALS.update(
        {
            "Queue.attributes": queue.attributes,
            "Queue.messages": queue.messages,
            "Queue.delete_message": queue.delete_message,
            "Message.mark_received": sqs.Message.mark_received,
            "SQSBackend.get_queue_attributes": backend.get_queue_attributes,
            "SQSBackend.is_message_valid_based_on_retention_period": (
                backend.is_message_valid_based_on_retention_period
            ),
            "jsonpath_ng.ext.parse": parse,
            "DynamoType.cast_value": DynamoType.cast_value,
            "Table.all_items": Table.all_items,
            "Table.query": Table.query,
            "backends.list_of_moto_modules": moto_backends.list_of_moto_modules,
            "XFormedAttributePicker.get_possible_keys": picker.get_possible_keys,
            "BaseJSONSerializer._serialize_type_structure": json_serializer._serialize_type_structure,
            "Item.__init__": Item.__init__,
            "Item.project": Item.project,
            "Item.__deepcopy__": Item.__deepcopy__,
            "responses.method_names_from_class": response_module.method_names_from_class,
            "BaseJSONParser._parse_structure": parse_module.BaseJSONParser._parse_structure,
            "RequestParser._parse_map": parse_module.RequestParser._parse_map,
            "botocore BaseJSONParser._handle_structure": response_parser._handle_structure,
            "botocore BaseJSONParser._handle_map": response_parser._handle_map,
        }
    )
    queue.attributes = property(_attributes)
    queue.messages = property(_messages)
    queue.delete_message = _delete_message
    sqs.Message.mark_received = _mark_received  # type: ignore[method-assign]
    backend.get_queue_attributes = _get_queue_attributes
    backend.is_message_valid_based_on_retention_period = _is_message_valid_based_on_retention_period
    DynamoType.cast_value = property(_cast_value)  # type: ignore[assignment,method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    moto_backends.list_of_moto_modules = lambda: modules
    picker.get_possible_keys = _possible_keys
    json_serializer._serialize_type_structure = _serialize_type_structure
    Item.__init__ = _item_init  # type: ignore[method-assign]
    Item.project = _project  # type: ignore[method-assign]
    Item.__deepcopy__ = _item_deepcopy  # type: ignore[method-assign]
    response_module.method_names_from_class = _method_names
    json_parser: Any = parse_module.BaseJSONParser
    json_parser._parse_structure = _parse_structure
    json_parser._parse_map = _parse_map
    response_parser._handle_structure = _handle_structure
    response_parser._handle_map = _handle_map
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(parse)  # type: ignore[attr-defined]
    return True
