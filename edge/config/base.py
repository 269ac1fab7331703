"""Shared base model and field types for the config contract (DESIGN.md section 4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

# Device and site ids appear in MQTT topics, URLs and DC-09 frames: keep them to a safe alphabet.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
HexDigits = Annotated[str, Field(pattern=r"^[0-9A-Fa-f]+$")]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class Strict(BaseModel):
    """Every config model forbids unknown keys so a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    """Relative paths are relative to the config file's folder, not the daemon's cwd."""
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


ConfigPath = Annotated[Path, AfterValidator(_resolve_path)]
