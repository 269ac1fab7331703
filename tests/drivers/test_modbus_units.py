"""Per-unit availability logic (pure): poll counting, the 10 s default, probing offline units."""

from __future__ import annotations

from edge.config.devices import InputRef, SerialButton
from edge.drivers.modbus_units import ButtonState, UnitState
from edge.events import EventKind


def unit(offline_after: int, offline_after_ms: int | None = None, debounce: int = 1) -> UnitState:
    cfg = SerialButton(
        id="b",
        name="b",
        zone=1,
        transport="serial",
        bus="bus1",
        unit=4,
        input=InputRef(type="discrete_input", address=0),
        debounce=debounce,
    )
    return UnitState(4, [ButtonState(cfg, "bus1")], offline_after, offline_after_ms)


def test_offline_after_n_consecutive_failures_and_back_on_one_success() -> None:
    u = unit(3)
    assert u.succeeded([(0,)], 0)[0].kind == EventKind.DEVICE_ONLINE
    assert u.failed("no_response", 1) == [] and u.failed("no_response", 2) == []
    assert u.succeeded([(0,)], 3) == []  # a success resets the count
    assert u.failed("no_response", 4) == [] and u.failed("no_response", 5) == []
    [off] = u.failed("no_response", 6)
    assert off.kind == EventKind.DEVICE_OFFLINE and off.payload["reason"] == "no_response"
    assert u.failed("no_response", 7) == []  # reported once
    [on, press] = u.succeeded([(1,)], 8)
    assert (on.kind, press.kind) == (EventKind.DEVICE_ONLINE, EventKind.ALARM_PRESS)


def test_default_is_also_bounded_in_time_when_rounds_stretch() -> None:
    u = unit(50, offline_after_ms=10_000)  # 50 polls at 0.2 s, but rounds now take 3 s
    u.succeeded([(0,)], 0)
    assert u.failed("no_response", 1_000) == []
    assert u.failed("no_response", 4_000) == []
    assert u.failed("no_response", 7_000) == []
    [off] = u.failed("no_response", 11_000)
    assert off.kind == EventKind.DEVICE_OFFLINE


def test_unknown_unit_goes_offline_too() -> None:
    u = unit(2)
    assert u.failed("no_response", 0) == []
    assert [e.kind for e in u.failed("no_response", 1)] == [EventKind.DEVICE_OFFLINE]


def test_offline_units_are_probed_less_often() -> None:
    u = unit(1)
    assert all(u.due(c, 5) for c in range(1, 6))
    u.failed("no_response", 0)
    assert [c for c in range(1, 11) if u.due(c, 5)] == [5, 10]


def test_repeated_values_are_skipped_only_when_nothing_is_half_confirmed() -> None:
    u = unit(3, debounce=2)
    assert [e.kind for e in u.succeeded([(0,)], 0)] == [EventKind.DEVICE_ONLINE]
    assert u.succeeded([(0,)], 1) == []  # quiet: the shortcut
    assert u.succeeded([(1,)], 2) == []  # a press half-confirmed by debounce 2...
    [press] = u.succeeded([(1,)], 3)  # ...is confirmed by the same values again, stamped at its first sample
    assert press.kind == EventKind.ALARM_PRESS and press.ts_ms == 2
    assert u.succeeded([(1,)], 4) == []  # held
    assert u.failed("no_response", 5) == []
    assert u.succeeded([(0,)], 6) == [] and [e.kind for e in u.succeeded([(0,)], 7)] == [EventKind.ALARM_RELEASE]


def test_a_unit_back_from_offline_is_judged_again_with_the_same_values() -> None:
    u = unit(1)
    u.succeeded([(0,)], 0)
    u.succeeded([(0,)], 1)
    assert [e.kind for e in u.failed("no_response", 2)] == [EventKind.DEVICE_OFFLINE]
    assert [e.kind for e in u.succeeded([(0,)], 3)] == [EventKind.DEVICE_ONLINE]
