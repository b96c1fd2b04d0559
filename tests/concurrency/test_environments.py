"""A function's execution environments in the harness (how the local stack scales a function, as
Lambda does): at most ``limit`` invocations at once, each environment one invocation at a time,
the first environment the harness's ``handlers[name]``, the others fresh loads of the handler."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from alertbridge_tools.harness import _Environments

WAIT = 5.0


def _harness(loads: list[str]) -> Any:
    """What _Environments uses of a harness: its handlers, its loader of new environments, and its
    way to run a call as the function (its role's keys; none here)."""
    inside: list[str] = []
    lock = threading.Lock()
    both = threading.Barrier(2, timeout=WAIT)

    def handler_named(name: str) -> Any:
        def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            with lock:
                assert name not in inside, f"environment {name} ran two invocations at once"
                inside.append(name)
            try:
                if event.get("meet"):
                    both.wait()
                return {"by": name}
            finally:
                with lock:
                    inside.remove(name)

        return handler

    def load() -> Any:
        loads.append(f"env-{len(loads) + 1}")
        return handler_named(loads[-1])

    return SimpleNamespace(
        handlers={"Fn": handler_named("first")},
        load=lambda _function: load(),
        run_as=lambda _function, call, *args: call(*args),
    )


def _together(environments: _Environments, event: dict[str, Any]) -> list[Any]:
    answers: list[Any] = []

    def call() -> None:
        try:
            answers.append(environments.run(event)["by"])
        except threading.BrokenBarrierError:
            answers.append("alone")

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 3)
    return sorted(answers)


def test_two_environments_run_two_invocations_at_once() -> None:
    loads: list[str] = []
    environments = _Environments(_harness(loads), "Fn", 2)
    assert _together(environments, {"meet": True}) == ["env-1", "first"]
    assert loads == ["env-1"]
    # Idle environments are reused: no third load, whatever the number of invocations.
    assert _together(environments, {"meet": True}) == ["env-1", "first"]
    assert {environments.run({})["by"] for _ in range(5)} <= {"first", "env-1"}
    assert loads == ["env-1"]


def test_one_environment_runs_one_invocation_at_a_time() -> None:
    loads: list[str] = []
    environments = _Environments(_harness(loads), "Fn", 1)
    # The two cannot meet: the second waits for the first, whose barrier breaks after WAIT.
    assert _together(environments, {"meet": True}) == ["alone", "alone"]
    assert loads == []


def test_the_first_environment_is_the_harness_handler_even_when_replaced() -> None:
    loads: list[str] = []
    harness = _harness(loads)
    environments = _Environments(harness, "Fn", 3)
    harness.handlers["Fn"] = lambda _event, _context: {"by": "replaced"}
    assert environments.run({}) == {"by": "replaced"}


def test_an_invocations_context_counts_down_from_the_functions_timeout() -> None:
    """What Powertools' idempotency reads to let an in-progress record expire with its Lambda."""
    harness = _harness([])
    environments = _Environments(harness, "Fn", 1, timeout=29)
    harness.handlers["Fn"] = lambda _event, context: {"left": context.get_remaining_time_in_millis()}
    left = environments.run({})["left"]
    assert 28_000 < left <= 29_000
