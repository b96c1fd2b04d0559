"""Alert rules, pure: check a rule, and apply a service's rules to the canonical alerts of a delivery.

Conditions and dedup key templates are JMESPath (docs/decisions.md says why), through the
``jmespath`` library: a query language over JSON, so evaluating one runs no code of ours or the
user's, and its cost is bounded by the expression (at most ``MAX_EXPRESSION`` characters) and the
document (the alert, and the vendor's own object of it, ``MAX_VENDOR_BYTES`` of body at most).
Expressions compile once per container (``compiled`` is cached).

The document a rule sees: ``severity``, ``title``, ``description``, ``tags``, ``source``,
``source_id``, ``service_id``, ``dedup_key``, ``action``, ``test`` and ``vendor`` (the vendor's
object of that alert as sent, e.g. one element of a Threat Stack batch). A rule matches when its
``when`` gives a truthy JMESPath value (not null, false, "", [] or {}). Rules apply in order, each
seeing what the earlier ones did: ``tag`` merges tags, ``severity`` overrides, ``route`` moves the
alert to another service (the first matching route wins; the origin service's rules are the ones
that run), ``dedup`` re-keys it (and may set a window), ``suppress`` keeps it out of the bus
(recoveries always pass). A condition that fails at run time (a function given the wrong type)
does not match: a rule never loses an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_errors
from jmespath import functions as jmespath_functions
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

from alertbridge.models.alert import MAX_KEY, MAX_TAGS, CanonicalAlert
from alertbridge.models.parts import Action, AppliedRule
from alertbridge.models.rule import MAX_EXPRESSION, Rule, RuleSet
from alertbridge.normalize import Normalized
from alertbridge.observability import logger
from alertbridge.text import cut
from alertbridge.vendors.base import Delivery, VendorMapping, vendor_objects

MAX_VENDOR_BYTES = 256 * 1024  # a body larger than this shows rules no vendor fields (vendor: null)


class RuleInvalid(ValueError):
    """A rule that does not parse or validate: the message names the field and, for an expression,
    the position with a caret line."""


# --- checking --------------------------------------------------------------------------------------
@cache
def _functions() -> dict[str, Any]:
    table: dict[str, Any] = jmespath_functions.Functions().FUNCTION_TABLE
    return table


@lru_cache(maxsize=2048)
def compiled(expression: str) -> ParsedResult:
    """``expression`` compiled (once per container); raises ``jmespath`` errors as they come."""
    return jmespath.compile(expression)


def compile_checked(name: str, expression: str) -> ParsedResult:
    """``expression`` compiled, with its function calls checked (names and argument counts), or
    RuleInvalid naming ``name``, what is wrong and where."""
    if len(expression) > MAX_EXPRESSION:
        raise RuleInvalid(f"{name}: expression of {len(expression)} characters; at most {MAX_EXPRESSION}")
    try:
        result = compiled(expression)
    except jmespath_errors.LexerError as exc:
        raise RuleInvalid(_at(name, exc.message, expression, exc.lex_position)) from exc
    except jmespath_errors.ParseError as exc:
        what = "incomplete expression" if exc.token_type is None else f"unexpected {exc.token_value!r}"
        raise RuleInvalid(_at(name, what, expression, exc.lex_position)) from exc
    _check_calls(name, expression, dict(result.parsed))
    return result


def _check_calls(name: str, expression: str, node: Mapping[str, Any]) -> None:
    """Unknown functions and wrong argument counts, which jmespath reports only when evaluating."""
    if node.get("type") == "function_expression":
        function, args = node["value"], node.get("children", [])
        known = _functions().get(function)
        position = max(expression.find(f"{function}("), 0)
        if known is None:
            raise RuleInvalid(_at(name, f"unknown function {function}()", expression, position))
        signature = known["signature"]
        variadic = bool(signature) and signature[-1].get("variadic", False)
        wanted = len(signature)
        if len(args) < wanted or (not variadic and len(args) > wanted):
            count = f"at least {wanted}" if variadic else str(wanted)
            message = f"{function}() takes {count} argument(s), got {len(args)}"
            raise RuleInvalid(_at(name, message, expression, position))
    for child in node.get("children", []):
        if isinstance(child, dict):
            _check_calls(name, expression, child)


def _at(name: str, what: str, expression: str, position: int) -> str:
    return f"{name}: {what} at position {position}\n  {expression}\n  {' ' * position}^"


def check(rule: Rule) -> None:
    """What a rule's types do not say: its expressions compile, and its kind has what it needs (and
    nothing another kind needs). RuleInvalid otherwise. The route target is the caller's to check
    (it needs the services)."""
    compile_checked("when", rule.when)
    needs: dict[str, tuple[str, ...]] = {
        "tag": ("tags",),
        "severity": ("severity",),
        "route": ("route_to",),
        "dedup": ("dedup_key",),
        "suppress": (),
    }
    allowed = {"dedup": ("dedup_key", "window_s")}.get(rule.kind, needs[rule.kind])
    for name in ("tags", "severity", "route_to", "dedup_key", "window_s"):
        present = bool(getattr(rule, name))
        if name in needs[rule.kind] and not present:
            raise RuleInvalid(f"{name}: a {rule.kind} rule needs it")
        if present and name not in allowed:
            raise RuleInvalid(f"{name}: not a field of a {rule.kind} rule")
    if rule.dedup_key:
        compile_checked("dedup_key", rule.dedup_key)


# --- evaluating ------------------------------------------------------------------------------------
def document(alert: CanonicalAlert, vendor: Any) -> dict[str, Any]:
    """What a rule's expressions read."""
    return {
        "severity": alert.severity.value,
        "title": alert.title,
        "description": alert.description,
        "tags": dict(alert.tags),
        "source": alert.source,
        "source_id": alert.source_id,
        "service_id": alert.service_id,
        "dedup_key": alert.dedup_key,
        "action": alert.action.value,
        "test": alert.test,
        "vendor": vendor,
    }


def truthy(value: Any) -> bool:
    """JMESPath truthiness: null, false, "", [] and {} are false; everything else (0 too) is true."""
    return not (value is None or value is False or value in ("", [], {}))


@dataclass
class Verdict:
    """What a service's rules made of one alert."""

    alert: CanonicalAlert
    applied: list[AppliedRule] = field(default_factory=list)
    suppressed_by: Rule | None = None


# ``ParsedResult.search`` builds an interpreter (and its function table) on every call, a sixth of
# an evaluation's time (bench/rules.py); it keeps no state between searches, so one serves all.
_INTERPRETER = TreeInterpreter()


def _search(rule: Rule, expression: str, doc: dict[str, Any]) -> Any:
    try:
        return _INTERPRETER.visit(compiled(expression).parsed, doc)
    except jmespath_errors.JMESPathError as exc:  # e.g. a function given a value of the wrong type
        logger.info(
            "rule expression failed; the rule does not apply", extra={"rule": rule.id, "error": str(exc)}
        )
        return None


def evaluate(rules: Sequence[Rule], alert: CanonicalAlert, vendor: Any) -> Verdict:
    """Apply ``rules`` in order to one alert."""
    verdict = Verdict(alert)
    changes: dict[str, Any] = {}
    doc = document(alert, vendor)
    routed = False
    for rule in rules:
        if rule.source_id is not None and rule.source_id != alert.source_id:
            continue
        if (rule.kind == "suppress" and alert.action is Action.RESOLVE) or (rule.kind == "route" and routed):
            continue  # recoveries always pass suppression; routing is decided once
        if not truthy(_search(rule, rule.when, doc)):
            continue
        match rule.kind:
            case "suppress":
                verdict.suppressed_by = rule
            case "tag":
                tags = {**doc["tags"], **rule.tags}
                changes["tags"] = dict(list(tags.items())[:MAX_TAGS])
            case "severity":
                changes["severity"] = rule.severity
            case "route":
                changes["service_id"], routed = rule.route_to, True
            case "dedup":
                key = _search(rule, rule.dedup_key or "", doc)
                if not isinstance(key, str) or not key.strip():
                    continue  # a template that gives no text leaves the vendor's key
                changes["dedup_key"] = cut(f"test:{key}" if alert.test else key, MAX_KEY)
                if rule.window_s is not None:
                    changes["dedup_window_s"] = rule.window_s
        verdict.applied.append(rule.applied)
        if verdict.suppressed_by is not None:
            break
        doc = document(alert.model_copy(update=changes), vendor)
    if verdict.applied:
        verdict.alert = alert.model_copy(update={**changes, "rules": verdict.applied})
    return verdict


def needs_vendor(rules: Sequence[Rule]) -> bool:
    """Whether any expression may read the vendor's fields (then the body is parsed for them)."""
    return any("vendor" in rule.when or "vendor" in (rule.dedup_key or "") for rule in rules)


def vendor_objects_of(mapping: VendorMapping, delivery: Delivery) -> list[Any]:
    """The vendor's object of each item of the delivery, by index (the mapping's ``vendor_objects``,
    else the body's JSON); none for a body over ``MAX_VENDOR_BYTES`` (rules read ``vendor`` as null)."""
    if len(delivery.body) > MAX_VENDOR_BYTES:
        return []
    read: Callable[[Delivery], list[Any]] = getattr(mapping, "vendor_objects", vendor_objects)
    return read(delivery)


def apply(result: Normalized, rule_set: RuleSet, vendor_objects: Callable[[], list[Any]]) -> None:
    """Apply a service's rules to a delivery's alerts, in place: each accepted alert is changed as
    its rules say, or suppressed (kept in the outcomes as ``suppressed`` with the rule, off the
    bus). ``vendor_objects()`` gives the vendor's object of each alert of the delivery, by index;
    it is called only when some rule reads ``vendor``."""
    if not rule_set.rules or not result.alerts:
        return
    objects = vendor_objects() if needs_vendor(rule_set.rules) else []
    accepted = iter(result.alerts)
    kept: list[CanonicalAlert] = []
    for outcome in result.outcomes:
        if outcome["outcome"] != "accepted":
            continue
        alert = next(accepted)
        index = outcome["index"]
        verdict = evaluate(rule_set.rules, alert, objects[index] if index < len(objects) else None)
        if not verdict.applied:
            kept.append(alert)
            continue
        outcome["rules"] = [r.model_dump() for r in verdict.applied]
        if verdict.suppressed_by is not None:
            outcome["outcome"] = "suppressed"
            outcome["reason"] = f"suppressed by rule {verdict.suppressed_by.label}"
            continue
        kept.append(verdict.alert)
        outcome["dedup_key"] = verdict.alert.dedup_key
        if verdict.alert.service_id != alert.service_id:
            outcome["service_id"] = verdict.alert.service_id
    result.alerts[:] = kept
