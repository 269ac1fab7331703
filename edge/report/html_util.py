"""Small HTML builders shared by the report's sections. Cell contents arrive already escaped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape


def h2(zh: str, en: str) -> str:
    return f"<h2>{escape(zh)}<small>{escape(en)}</small></h2>"


def table(
    headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]], numeric: frozenset[int] | set[int] = frozenset()
) -> str:
    """A table with bilingual headers (Chinese over English); `numeric` columns align right."""
    head = "".join(f"<th>{escape(zh)}<small>{escape(en)}</small></th>" for zh, en in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
