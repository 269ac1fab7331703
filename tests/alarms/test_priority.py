"""The alarm centre's ranking, table-driven: what a duty guard must see first, and in which words."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.alarms.priority import Priority, rank_alarm

P, F, N = Priority.PANIC, Priority.FAULT, Priority.NOTICE

CASES: list[tuple[str, str, dict[str, Any] | None, Priority, str, str | None]] = [
    ("alarm.press", "alarm", {"input": "discrete_input:0"}, P, "press", None),
    ("alarm.press", "alarm", None, P, "press", None),
    ("device.tamper", "flag", {"state": "active"}, P, "tamper", None),
    ("device.offline", "flag", {"type": "button", "reason": "heartbeat_timeout"}, F, "offline", "heartbeat_timeout"),
    ("device.offline", "flag", {"reason": "lwt", "retained": False}, F, "offline", "lwt"),
    ("device.offline", "flag", {"reason": "port_lost", "error": "gone"}, F, "offline", "port_lost"),  # a bus
    ("device.offline", "flag", {"reason": "auth_failed"}, F, "offline", "auth_failed"),  # a camera
    ("relay.link", "flag", {"receiver": "dc09://x", "state": "down", "reason": "timeout"}, F, "link_down", "timeout"),
    ("camera.retention", "flag", {"verdict": "short", "shortfall_days": 78}, N, "retention_short", None),
    ("camera.retention", "flag", {"verdict": "unverifiable"}, N, "retention_unverifiable", None),
    ("camera.retention", "flag", {"verdict": "stalled"}, F, "retention_stalled", None),  # no video kept at all
    ("camera.retention", "flag", {}, N, "retention_short", None),
    ("camera.quality", "flag", {"verdict": "fail", "failures": ["blurred"]}, N, "quality", None),
    ("camera.clock", "flag", {"drift_s": 30.0}, N, "clock", None),
    # kinds only a site rule flags: never below a fault, and police-worthy ones are panics
    ("alarm.release", "flag", {}, F, "alarm.release", None),
    ("gateway.stall", "alarm", {"seconds": 8}, P, "gateway.stall", None),
]


@pytest.mark.parametrize(("kind", "category", "payload", "priority", "what", "reason"), CASES)
def test_rank(
    kind: str, category: str, payload: dict[str, Any] | None, priority: Priority, what: str, reason: str | None
) -> None:
    r = rank_alarm(kind, category, payload)
    assert (r.priority, r.what, r.reason) == (priority, what, reason)


def test_priorities_are_the_contract_numbers() -> None:
    assert (int(P), int(F), int(N)) == (1, 2, 3)  # DESIGN.md section 12


@given(
    kind=st.text(max_size=30),
    category=st.sampled_from(["alarm", "flag", ""]),
    payload=st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=10))),
)
def test_any_input_ranks_without_error(kind: str, category: str, payload: dict[str, Any]) -> None:
    r = rank_alarm(kind, category, payload)
    assert r.priority in (P, F, N) and r.what
    if category == "alarm":
        assert r.priority is not N  # a police-worthy alarm is never a mere notice


def test_police_worthy_notice_kind_is_raised_to_a_fault() -> None:
    # a site rule that relays image quality to the police makes it more than a notice
    assert rank_alarm("camera.quality", "alarm", {"failures": ["covered"]}).priority is F
