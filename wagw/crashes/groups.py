"""Crash records grouped by signature: what `wagw crashes` lists and `show` details."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

MAX_TARGETS = 20  # masked targets listed per signature


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Group:
    """Every kept record of one signature, oldest first."""

    signature: str
    records: list[dict] = field(default_factory=list)

    @property
    def first(self) -> dict:
        return self.records[0]

    @property
    def last(self) -> dict:
        return self.records[-1]

    def distinct(self, name: str) -> list[str]:
        return sorted({str(r[name]) for r in self.records if r.get(name)})

    def target_ids(self) -> list[str]:
        return self.distinct("target_id")

    def outcomes(self) -> dict[str, int]:
        return dict(Counter(str(r.get("outcome") or "unrecorded") for r in self.records))

    def summary(self) -> dict:
        targets = self.distinct("target")
        return {
            "signature": self.signature,
            "count": len(self.records),
            "first_seen": iso(self.first["time"]),
            "last_seen": iso(self.last["time"]),
            "kind": self.last.get("kind"),
            "operations": self.distinct("operation"),
            "targets": targets[:MAX_TARGETS],
            "distinct_targets": len(self.target_ids()),
            "accounts": self.distinct("account"),
            "processes": self.distinct("process"),
            "exits": self.distinct("exit"),
            "outcomes": self.outcomes(),
            "panic": first_line(self.last.get("panic") or ""),
            "stack": self.last.get("stack") or [],
            "neonize": self.last.get("neonize"),
            "whatsmeow": self.last.get("whatsmeow"),
        }


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def group(records: list[dict]) -> list[Group]:
    """Groups, the most recently seen first."""
    found: dict[str, Group] = {}
    for record in sorted(records, key=lambda r: r["time"]):
        found.setdefault(record["signature"], Group(record["signature"])).records.append(record)
    return sorted(found.values(), key=lambda g: g.last["time"], reverse=True)


def find(groups: list[Group], signature: str) -> Group | None:
    """The group whose signature is `signature` or starts with it (when only one does)."""
    exact = [g for g in groups if g.signature == signature]
    if exact:
        return exact[0]
    matches = [g for g in groups if signature and g.signature.startswith(signature)]
    return matches[0] if len(matches) == 1 else None


def detail(found: Group, recent: int = 20) -> dict:
    """`wagw crashes show`: the summary, the last panic in full and the newest records."""
    keep = ("time", "kind", "account", "process", "operation", "target", "exit", "job_id", "outcome")
    newest = [
        {**{name: r.get(name) for name in keep}, "time": iso(r["time"])} for r in reversed(found.records[-recent:])
    ]
    return {**found.summary(), "last_panic": found.last.get("panic") or "", "recent": newest}
