"""The YAML files of salted hashes (API tokens, people's accounts): a mapping with one list of entries,
replaced atomically and readable by the owner only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def load_list(path: Path, key: str, error: type[Exception]) -> list[dict[str, Any]]:
    """The entries under `key`; `error` (with the file name) when the file cannot be read as such."""
    if not path.exists():
        return []
    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except Exception as exc:  # ruamel raises many types; the file name is what the operator needs
        raise error(f"{path}: cannot parse {key} file: {exc}") from exc
    entries = doc.get(key, []) if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise error(f"{path}: expected a mapping with a '{key}' list")
    return [e for e in entries if isinstance(e, dict)]


def save_list(path: Path, key: str, entries: list[dict[str, Any]], header: str) -> None:
    """Atomic replace, mode 0600 (the hashes are not secrets, but close to them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(f"# {header}\n")
        yaml = YAML()
        yaml.default_flow_style = False
        yaml.dump({key: entries}, fh)
    tmp.replace(path)


def person_name(value: str) -> str:
    """A token's or a person's name as the CLI accepts it (it is what the audit trail records)."""
    if not value or len(value) > 64 or not value.isprintable():
        raise ValueError("a printable name of 1-64 characters")
    return value
