"""Figures of one benchmark run: the machine, each stage's measures and the table of bars."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import psutil


@dataclass
class Measure:
    """One ratio of an agentaudit figure to its baseline, and the bar it must meet.

    `higher_is_better` is True for throughput ratios (bar is a minimum) and False for cost
    ratios (bar is a maximum).
    """

    stage: str
    name: str
    ratio: float | None
    bar: float
    higher_is_better: bool
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if self.ratio is None:
            return None
        return self.ratio >= self.bar if self.higher_is_better else self.ratio <= self.bar

    @property
    def bar_text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.bar:g}x"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "bar_text": self.bar_text, "met": self.met}


@dataclass
class StageReport:
    """Absolute figures of one stage, the load average when it started and its measures."""

    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    load_average: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figures": self.figures,
            "measures": [m.to_dict() for m in self.measures],
            "load_average": list(self.load_average),
            "seconds": round(self.seconds, 1),
        }


def machine_info() -> dict[str, Any]:
    """Describe the machine: usable cores, memory, load average and library versions."""
    memory = psutil.virtual_memory()
    return {
        "cores": len(os.sched_getaffinity(0)),
        "memory_total_gib": round(memory.total / 2**30, 1),
        "memory_available_gib": round(memory.available / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def format_figures(stage: StageReport) -> str:
    """Render one stage's figures and ratios as indented text lines."""
    load = ", ".join(f"{x:.2f}" for x in stage.load_average)
    lines = [f"== {stage.name} (load average at start: {load}; {stage.seconds:.1f} s)"]
    width = max((len(key) for key in stage.figures), default=0)
    for key, value in stage.figures.items():
        lines.append(f"  {key:<{width}}  {_format_value(value)}")
    for measure in stage.measures:
        lines.append(
            f"  -> {measure.name}: {_format_ratio(measure.ratio)} (bar {measure.bar_text})"
        )
    return "\n".join(lines)


def format_table(measures: list[Measure]) -> str:
    """Render the final table: measure, ratio, bar and whether the bar is met."""
    header = ("measure", "ratio", "bar", "met")
    rows = [
        (m.name, _format_ratio(m.ratio), m.bar_text, {True: "yes", False: "no", None: "n/a"}[m.met])
        for m in measures
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _format_ratio(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.3f}x"


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
