"""Field types of the rule and alarm config models (durations, severities, one-or-many lists)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

# Ordered lowest first; escalation moves an alarm one step up unless a rule names the target.
SEVERITIES = ("info", "warning", "major", "critical", "emergency")
Severity = Literal["info", "warning", "major", "critical", "emergency"]

DeviceType = Literal["button", "camera", "bus", "receiver"]

_DURATION = re.compile(r"^\s*(?:(?P<h>\d+(?:\.\d+)?)h)?\s*(?:(?P<m>\d+(?:\.\d+)?)m)?\s*(?:(?P<s>\d+(?:\.\d+)?)s)?\s*$")
# One week: longer windows are a config mistake, and they keep count windows' memory bounded.
MAX_DURATION_S = 7 * 86_400


def parse_duration(value: Any) -> Any:
    """'90', 90, '90s', '2m', '1h30m' -> seconds as float. Other types go on to pydantic's own error."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '30s', '2m', '1h30m'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        m = _DURATION.match(text)
        if not text or m is None or not any(m.groupdict().values()):
            raise ValueError(f"{value!r} is not a duration; use seconds or text like '30s', '2m', '1h30m'")
        return sum(float(m[k] or 0) * mult for k, mult in (("h", 3600), ("m", 60), ("s", 1)))
    return value


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0, le=MAX_DURATION_S)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0, le=MAX_DURATION_S)]


def _as_list(value: Any) -> Any:
    """Let YAML say `kind: alarm.press` as well as `kind: [alarm.press, device.tamper]`."""
    if value is None or isinstance(value, list):
        return value
    return [value]


OneOrMany = BeforeValidator(_as_list)


class RulesStrict(BaseModel):
    """Like `edge.config.base.Strict`: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Relative to the config file's folder, as `edge.config.base.ConfigPath` does."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


RulesPath = Annotated[Path, AfterValidator(_resolve_path)]
