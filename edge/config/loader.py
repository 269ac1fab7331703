"""Load YAML config, validate it, and report every error as ``FILE:LINE: key.path: message``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from edge.config.models import Config
from edge.redact import redact_text

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        # Validators quote the offending value; a URL there may carry a token or password.
        return f"{self.file}:{self.line}: {self.path}: {redact_text(self.message)}"


class ConfigError(Exception):
    """Raised with every problem found, not only the first."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def _line_of(root: Any, loc: Loc) -> int:
    """The 1-based line of the deepest node on `loc` that exists in the YAML."""
    line = 1
    node = root
    for part in loc:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedMap | CommentedSeq):
            continue  # a union tag (e.g. 'mqtt' or 'serial') in pydantic's loc: skip it
        else:
            break
    return line


def _child(node: Any, part: str | int) -> Any:
    """The YAML child at `part`, or None when `node` has no such key or index."""
    if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
        return node[part]
    if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _clean_loc(root: Any, loc: Loc) -> Loc:
    """Drop pydantic's union tags (e.g. 'mqtt') so the path matches what the user wrote."""
    out: list[str | int] = []
    node = root
    for i, part in enumerate(loc):
        child = _child(node, part)
        if child is None and isinstance(node, CommentedMap | CommentedSeq) and i < len(loc) - 1:
            continue
        node = child
        out.append(part)
    return tuple(out)


def _fmt_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


def parse_config(text: str, file: str, base_dir: Path | None = None) -> Config:
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([ConfigIssue(file, line, "(yaml)", str(exc.problem or exc))]) from exc
    except YAMLError as exc:  # e.g. a control character the YAML reader refuses, with its position
        raise ConfigError([ConfigIssue(file, 1, "(yaml)", str(exc).splitlines()[0])]) from exc
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        # ruamel's constructors raise these on some malformed scalars (e.g. `._` read as a float).
        raise ConfigError([ConfigIssue(file, 1, "(yaml)", f"cannot parse: {exc}")]) from exc
    if not isinstance(root, CommentedMap):
        raise ConfigError([ConfigIssue(file, 1, "(top)", "the config must be a mapping of sections")])
    cross: list[tuple[Loc, str]] = []
    context = {"base_dir": base_dir, "cross_errors": cross}
    try:
        config = Config.model_validate(_plain(root), context=context)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = _clean_loc(root, tuple(err["loc"]))
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see config/edge.example.yaml)"
            issues.append(ConfigIssue(file, _line_of(root, loc), _fmt_loc(loc), msg))
        raise ConfigError(sorted(issues, key=lambda i: i.line)) from exc
    if cross:
        raise ConfigError([ConfigIssue(file, _line_of(root, loc), _fmt_loc(loc), msg) for loc, msg in cross])
    return config


def load_config(path: Path | str) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigIssue(str(p), 0, "(file)", f"cannot read: {exc.strerror}")]) from exc
    return parse_config(text, str(p), base_dir=p.resolve().parent)
