"""Counts of one export run, per sink."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class PreviewRecord:
    """One record a dry run would send."""

    alert_id: str
    action: str
    payload: str


@dataclass
class SinkResult:
    """Counts of one sink in one run.

    `sent` and `updated` count alerts delivered for the first time and changed alerts
    delivered again. `retried` counts alerts that needed more than one attempt. `failed`
    counts permanent failures recorded in this run, and `held_failed` those recorded
    earlier that stay failed because their content did not change. `pending` counts alerts
    left for the next run after transient failures. `unchanged` alerts were already
    delivered with the same content.
    """

    name: str
    type: str
    sent: int = 0
    updated: int = 0
    retried: int = 0
    failed: int = 0
    pending: int = 0
    unchanged: int = 0
    held_failed: int = 0
    error: str | None = None
    preview: list[PreviewRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is pending or failed, including failures of earlier runs."""
        return (
            self.error is None and self.failed == 0 and self.pending == 0 and self.held_failed == 0
        )


@dataclass
class ExportResult:
    """Results of one export run: one SinkResult per sink, in configuration order."""

    dry_run: bool
    alerts_considered: int
    sinks: list[SinkResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.sinks)

    def sink(self, name: str) -> SinkResult:
        """Return the result of the sink called `name`; raises KeyError when it did not run."""
        for result in self.sinks:
            if result.name == name:
                return result
        raise KeyError(f"sink {name!r} did not run in this export")

    def total(self, counter: str) -> int:
        return sum(getattr(result, counter) for result in self.sinks)

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "alerts_considered": self.alerts_considered,
            "ok": self.ok,
            "sinks": [asdict(result) for result in self.sinks],
        }
