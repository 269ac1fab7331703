"""One line of a commissioning verdict, printed the same way by every `edge commission` check."""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, WARN, INFO = "通过 PASS", "失败 FAIL", "注意 WARN", "信息 INFO"
SKIP = "跳过 SKIP"


@dataclass(frozen=True, slots=True)
class Line:
    status: str
    check: str
    zh: str
    en: str
    fix: str = ""

    def render(self) -> str:
        out = f"[{self.status}] {self.check}: {self.zh} / {self.en}"
        return out + (f"\n        处理 fix: {self.fix}" if self.fix else "")
