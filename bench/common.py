"""What every benchmark shares: its result row, and printing rows the way bench/run.py does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]


def row(figure: str, value: float, unit: str, floor: float, floor_unit: str) -> Row:
    """One figure against its floor; ratio = value / floor (None when there is no floor)."""
    return {
        "figure": figure,
        "value": round(value, 3),
        "unit": unit,
        "floor": round(floor, 3),
        "floor_unit": floor_unit,
        "ratio": round(value / floor, 2) if floor else None,
    }


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def render(rows: list[Row], markdown: bool) -> str:
    head = ["benchmark", "figure", "value", "unit", "floor", "floor unit", "ratio"]
    body = [
        [
            r.get("bench", ""),
            r["figure"],
            fmt(r["value"]),
            r.get("unit", ""),
            fmt(r.get("floor", "")),
            r.get("floor_unit", ""),
            fmt(r.get("ratio", "")),
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(map(str, b)) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=False)]
    out = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True))]
    out += ["  ".join(str(x).ljust(w) for x, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(out)


def print_rows(rows: Iterable[Row], footer: str = "") -> None:
    """A benchmark run on its own prints the same table the runner prints for all of them."""
    print(render(list(rows), markdown=False))
    if footer:
        print(footer)
