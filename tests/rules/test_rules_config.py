"""Rules in the config: line-numbered errors through the loader, and the README's rule examples validate."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from edge.config import ConfigError, parse_config
from edge.config.rule_types import parse_duration
from edge.config.rules import Rule
from edge.core.registry import engine_from_config
from edge.rules.defaults import default_rules

README = Path(__file__).resolve().parents[2] / "README.md"
RULES_SECTION = "## Rules, device states and alarms"

BASE = """site: {id: s1, timezone: Asia/Shanghai}
storage: {path: /tmp/edge-test.db}
api: {listen: "127.0.0.1:8080"}
mqtt: {}
police: {account: "1234", receivers: ["dc09://127.0.0.1:12000"]}
buttons:
  - {id: gate-south, name: 南门一键报警, location: 南门岗亭, zone: 1, transport: mqtt}
cameras:
  - {id: cam-gate, name: 南门枪机, location: 南门, onvif: "http://127.0.0.1/onvif/device_service"}
"""


def issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(BASE + text, "site.yaml")
    return [str(i) for i in info.value.issues]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            "rules:\n  - name: r1\n    when:\n      kind: device.tamper\n      for: 5 minutes\n"
            "    then: {flag: {message: x}}\n",
            "site.yaml:14: rules[0].when.for: Value error, '5 minutes' is not a duration",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: device.tamper}\n    then:\n      relay: BOGUS\n",
            "site.yaml:14: rules[0].then.relay: Value error, unknown police code 'BOGUS'",
        ),
        (
            "rules:\n  - name: r1\n    when:\n      time: {from: '25:00', to: '07:00'}\n"
            "    then: {flag: {message: x}}\n",
            "site.yaml:13: rules[0].when.time.from: String should match pattern",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: device.tamper, colour: red}\n    then: {flag: {message: x}}\n",
            "site.yaml:12: rules[0].when.colour: unknown key",
        ),
        (
            "rules:\n  - name: r1\n    then: {flag: {message: '{nme} 离线'}}\n",
            "site.yaml:12: rules[0].then.flag.message: Value error, unknown placeholder(s) ['nme']",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: [alarm.press]}\n    then: {suppress: true}\n",
            "site.yaml:11: rules[0]: Value error, suppress cannot apply to alarm.press (GB 50394)",
        ),
        (
            "rules:\n  - name: r1\n    then: {suppress: true}\n",
            "site.yaml:11: rules[0]: Value error, suppress cannot apply to alarm.press",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: alarm.press, for: 10s}\n    then: {flag: {message: x}}\n",
            "site.yaml:11: rules[0]: Value error, 'for' cannot delay alarm.press",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: alarm.press}\n    then: {relay: TROUBLE}\n",
            "site.yaml:11: rules[0]: Value error, alarm.press can only be relayed as PANIC",
        ),
        (
            "rules:\n  - name: r1\n    when: {kind: device.offline}\n    then: {}\n",
            "site.yaml:13: rules[0].then: Value error, 'then' needs at least one of",
        ),
        (
            "rules:\n  - name: r1\n    when: {device: [gate-south, gate-nrth]}\n    then: {flag: {message: x}}\n",
            "site.yaml:12: rules[0].when.device: device 'gate-nrth' is not configured",
        ),
        (
            "rules:\n  - {name: r1, when: {kind: camera.clock}, then: {suppress: true}}\n"
            "  - {name: r1, when: {kind: camera.clock}, then: {suppress: true}}\n",
            "site.yaml:12: rules[1].name: rule name 'r1' is taken",
        ),
        (
            "rules:\n  - {name: default-panic, when: {kind: camera.clock}, then: {suppress: true}}\n",
            "site.yaml:11: rules[0].name: rule name 'default-panic' is taken",
        ),
        (
            "alarms: {escalate_after: 0}\n",
            "site.yaml:10: alarms.escalate_after: Input should be greater than 0",
        ),
        (
            "device_states: {hysteresis: -1}\n",
            "site.yaml:10: device_states.hysteresis: Input should be greater than or equal to 0",
        ),
    ],
)
def test_rule_errors_are_line_numbered(rules: str, expected: str) -> None:
    found = issues(rules)
    assert any(i.startswith(expected) for i in found), found


@pytest.mark.parametrize(
    ("text", "seconds"), [(90, 90.0), ("90", 90.0), ("30s", 30.0), ("2m", 120.0), ("1h30m", 5400.0), ("1.5m", 90.0)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_relay_code_by_cid_or_sia() -> None:
    for code in ("1137", 1137, "TA", "tamper"):
        rule = Rule.model_validate({"name": "x", "when": {"kind": "device.tamper"}, "then": {"relay": code}})
        assert rule.then.relay is not None and rule.then.relay.name == "TAMPER"


def _yaml_blocks() -> list[str]:
    """The YAML blocks of the README's rules section (defaults, config keys, three examples)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(RULES_SECTION) :]
    section = section[: section.find("\n## ", len(RULES_SECTION))]
    return re.findall(r"```yaml\n(.*?)```", section, flags=re.S)


def test_docs_defaults_match_the_code() -> None:
    listed = YAML(typ="safe").load(_yaml_blocks()[0])
    assert [Rule.model_validate(r) for r in listed] == [
        r.model_copy(update={"description": ""}) for r in default_rules()
    ]


def test_docs_examples_and_keys_validate() -> None:
    blocks = _yaml_blocks()[1:]
    assert len(blocks) == 4  # the config keys and the three examples
    for block in blocks:
        config = parse_config(BASE + block, "README.md")
        engine = engine_from_config(config)
        assert engine.ctx.rules[-len(default_rules()) :] == tuple(default_rules())
