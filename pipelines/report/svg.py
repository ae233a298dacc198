"""Inline SVG charts for the report, drawn from numbers alone: no script, font or network."""

from __future__ import annotations

import math
from html import escape

SEVERITY_COLORS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#2563eb",
    "info": "#6b7280",
}

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_max(value: int) -> int:
    """Round the largest value up to 1, 2, 2.5 or 5 times a power of ten, for the axis top."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = math.ceil(step * magnitude)
        if value <= top:
            return top
    return 10 * magnitude


def stacked_bars(
    labels: list[str],
    series: dict[str, list[int]],
    *,
    title: str,
    colors: dict[str, str] = SEVERITY_COLORS,
    width: int = 720,
    height: int = 240,
) -> str:
    """Draw one vertical bar per label, stacked by series, with a y axis and a legend.

    `series` maps a series name (a severity) to one count per label, in label order.
    """
    left, right, top, bottom = 40, 10, 28, 36
    plot_width = width - left - right
    plot_height = height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    y_max = _nice_max(max(totals, default=0))
    slot = plot_width / max(len(labels), 1)
    bar_width = max(slot * 0.7, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in (0, y_max // 2, y_max) if y_max >= 2 else (0, y_max):
        y = top + plot_height - plot_height * tick / y_max
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{tick}</text>'
        )
    for index, label in enumerate(labels):
        x = left + slot * index + (slot - bar_width) / 2
        y = top + plot_height
        for name, values in series.items():
            count = values[index]
            if count == 0:
                continue
            bar_height = plot_height * count / y_max
            y -= bar_height
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                f'height="{bar_height:.1f}" fill="{colors.get(name, "#9ca3af")}">'
                f"<title>{escape(label)}: {count} {escape(name)}</title></rect>"
            )
        if totals[index]:
            parts.append(
                f'<text x="{x + bar_width / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f"{_FONT}>{totals[index]}</text>"
            )
        parts.append(
            f'<text x="{x + bar_width / 2:.1f}" y="{height - bottom + 14}" '
            f'text-anchor="middle" {_FONT}>{escape(label)}</text>'
        )
    legend_x = left
    for name in series:
        parts.append(
            f'<rect x="{legend_x}" y="8" width="10" height="10" '
            f'fill="{colors.get(name, "#9ca3af")}"/>'
            f'<text x="{legend_x + 14}" y="17" {_FONT}>{escape(name)}</text>'
        )
        legend_x += 14 + 7 * len(name) + 16
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    rows: list[tuple[str, int, str]], *, title: str, width: int = 720, bar_height: int = 18
) -> str:
    """Draw one labelled horizontal bar per (label, value, color) row, longest value widest."""
    label_width = 260
    gap = 6
    height = max(len(rows), 1) * (bar_height + gap) + gap
    scale_max = max((value for _, value, _ in rows), default=0) or 1
    plot_width = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value, color) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        length = plot_width * value / scale_max
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height - 5}" text-anchor="end" '
            f"{_FONT}>{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar_height}" '
            f'fill="{color}"/>'
            f'<text x="{label_width + length + 5:.1f}" y="{y + bar_height - 5}" '
            f"{_FONT}>{value}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
