"""The pass/fail tally the Python MCP clients share: one line per check on stdout."""

from __future__ import annotations


class Checker:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def ok(self, label: str, cond: bool, detail: str = "") -> bool:
        if cond:
            self.passed += 1
            print(f"ok    {label}", flush=True)
        else:
            self.failed.append(label)
            print(f"FAIL  {label}" + (f": {detail}" if detail else ""), flush=True)
        return cond

    def fail(self, label: str, detail: str) -> None:
        self.ok(label, False, detail)
