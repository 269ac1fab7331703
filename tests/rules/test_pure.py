"""edge/rules holds only the pure engine (issue 13): its modules import no store, network, file or clock
module, so a step is a function of (state, input, clock) and its I/O lives in edge/core beside the runtime."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "edge" / "rules"
# What a module of the engine may import from: the standard library's pure parts and our own data types.
ALLOWED_EDGE = ("edge.rules", "edge.events", "edge.states", "edge.config.rules", "edge.config.rule_types",
                "edge.config.alarms", "edge.relay.message")  # fmt: skip
FORBIDDEN_STDLIB = {"sqlite3", "asyncio", "socket", "threading", "time", "os", "httpx", "logging", "subprocess"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_engine_package_does_no_io() -> None:
    bad = {}
    for path in sorted(RULES.glob("*.py")):
        found = {
            m
            for m in _imports(path)
            if (m.startswith("edge") and not m.startswith(ALLOWED_EDGE)) or m.split(".")[0] in FORBIDDEN_STDLIB
        }
        if found:
            bad[path.name] = sorted(found)
    assert bad == {}


EDGE = RULES.parent


def test_maintenance_has_one_writer_and_no_import_circle() -> None:
    """The runtime is the only writer of maintenance state: the maintenance module opens no store of its
    own (no `Database`) and imports neither the runtime nor the API, so nothing imports back in a circle."""
    core = _imports(EDGE / "core" / "maintenance.py")
    assert not {m for m in core if m.startswith(("edge.runtime", "edge.api", "edge.store.db"))}, core
    assert "Database" not in (EDGE / "core" / "maintenance.py").read_text(encoding="utf-8")
    runtime = _imports(EDGE / "runtime.py")
    assert not {m for m in runtime if m.startswith("edge.api")}, runtime
