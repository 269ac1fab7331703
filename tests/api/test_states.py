"""One definition of state names (issue 13): the API, its schema and the dashboard use edge.states, and
edge/api holds no SQL (its reads are query functions in edge/store/queries.py)."""

from __future__ import annotations

import re
from pathlib import Path

from edge.api.models import Alarm, Device
from edge.states import AlarmCategory, AlarmState, DeviceState

API = Path(__file__).resolve().parents[2] / "edge" / "api"
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|\.(query|execute)\(")


def test_no_sql_in_the_api_package() -> None:
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(API.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if SQL.search(line)
    ]
    assert found == []


def test_no_copies_of_state_names_in_the_api_package() -> None:
    names = {str(s) for s in (*DeviceState, *AlarmState)} - {"unknown"}  # "unknown" is a police-link state too
    alternatives = "|".join(sorted(names))
    pattern = re.compile(rf"""["']({alternatives})["']""")
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(API.glob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "healthz" not in line and '"status": "degraded"' not in line
    ]
    assert found == []


def test_the_api_schema_lists_the_enum_members() -> None:
    device = Device.model_json_schema()
    alarm = Alarm.model_json_schema()
    assert device["$defs"]["DeviceState"]["enum"] == [s.value for s in DeviceState]
    assert alarm["$defs"]["AlarmState"]["enum"] == [s.value for s in AlarmState]
    assert alarm["$defs"]["AlarmCategory"]["enum"] == [s.value for s in AlarmCategory]


def test_the_dashboard_labels_every_state() -> None:
    i18n = (API / "static" / "i18n.js").read_text(encoding="utf-8")
    blocks = re.findall(r"\bstate: \{(.*?)\}", i18n, flags=re.S)
    assert len(blocks) == 2  # zh and en
    for block in blocks:
        labelled = set(re.findall(r"(\w+):", block))
        missing = {str(s) for s in (*DeviceState, *AlarmState)} - labelled
        assert missing == set(), missing
