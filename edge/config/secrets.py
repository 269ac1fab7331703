"""Secrets come from files (or systemd credentials), never from the config text or the logs."""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(Exception):
    pass


def secret_path(path: Path) -> Path:
    """`path`, or the same name under $CREDENTIALS_DIRECTORY (systemd LoadCredential=)."""
    if path.exists():
        return path
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if creds and (Path(creds) / path.name).exists():
        return Path(creds) / path.name
    return path


def read_secret(path: Path | None) -> str | None:
    """The file's content without surrounding whitespace; None when no file is configured."""
    if path is None:
        return None
    try:
        return secret_path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        # The path is not secret; the content is never put in the message.
        raise SecretError(f"cannot read secret file {path}: {exc.strerror}") from exc
