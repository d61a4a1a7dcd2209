"""What ``verify_file`` found: problems with a severity and a location, and statistics."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error", "fatal")
LAYERS = ("header", "ndb", "ltp", "messaging")


@dataclass(frozen=True)
class Problem:
    """One finding: ``code`` is stable for machines, ``message`` says it for people."""

    code: str
    severity: str
    layer: str
    message: str
    offset: int | None = None
    nid: int | None = None
    bid: int | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")
        if self.layer not in LAYERS:
            raise ValueError(f"unknown layer {self.layer!r}")

    def __str__(self) -> str:
        where = [
            f"{name} 0x{value:X}"
            for name, value in (("offset", self.offset), ("nid", self.nid), ("bid", self.bid))
            if value is not None
        ]
        suffix = f" ({', '.join(where)})" if where else ""
        return f"{self.severity}: {self.layer}/{self.code}: {self.message}{suffix}"


@dataclass
class Stats:
    """How much was checked, and how long it took."""

    pages: int = 0
    blocks: int = 0
    nodes: int = 0
    folders: int = 0
    messages: int = 0
    bytes_read: int = 0
    seconds: float = 0.0


@dataclass
class Report:
    """The verdict on one file: ``consistent`` unless a problem is an error or fatal."""

    path: str
    level: str
    problems: list[Problem] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)

    @property
    def consistent(self) -> bool:
        return not any(p.severity in ("error", "fatal") for p in self.problems)

    def add(
        self,
        code: str,
        severity: str,
        layer: str,
        message: str,
        *,
        offset: int | None = None,
        nid: int | None = None,
        bid: int | None = None,
    ) -> None:
        self.problems.append(Problem(code, severity, layer, message, offset, nid, bid))

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema in docs/verify.md)."""
        return {
            "path": self.path,
            "level": self.level,
            "consistent": self.consistent,
            "problems": [asdict(p) for p in self.problems],
            "stats": asdict(self.stats),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())
