"""Render the report figures as one HTML page with inline CSS and inline SVG charts."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from pipelines.report.data import SEVERITIES
from pipelines.report.svg import SEVERITY_COLORS, horizontal_bars, stacked_bars

# Section ids, in page order; tests and links rely on them.
SECTION_IDS = (
    "summary",
    "alerts-per-rule",
    "alerts-per-day",
    "top-agents",
    "alerts",
    "data-quality",
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px;
       color: #111827; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; border-bottom: 1px solid #e5e7eb; padding-bottom: 0.2rem;
     margin-top: 2rem; }
.meta { color: #6b7280; font-size: 0.85rem; }
.cards { display: flex; gap: 0.75rem; flex-wrap: wrap; }
.card { border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.5rem 0.9rem; min-width: 7rem; }
.card .value { font-size: 1.4rem; font-weight: 600; }
.card .label { color: #6b7280; font-size: 0.8rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #f3f4f6;
         vertical-align: top; }
th { background: #f9fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.sev { color: #fff; border-radius: 3px; padding: 0 0.35rem; font-size: 0.75rem; }
.alert { border-left: 4px solid #e5e7eb; padding: 0.3rem 0.8rem; margin: 0.6rem 0; }
.alert.suppressed { opacity: 0.6; }
code { font-size: 0.8rem; word-break: break-all; }
.empty { color: #6b7280; font-style: italic; }
"""


def _severity_badge(severity: str) -> str:
    color = SEVERITY_COLORS.get(severity, "#9ca3af")
    return f'<span class="sev" style="background:{color}">{escape(severity)}</span>'


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    if not rows:
        return '<p class="empty">None.</p>'
    head = "".join(
        f'<th{" class=num" if index in numeric else ""}>{escape(name)}</th>'
        for index, name in enumerate(header)
    )
    body = []
    for row in rows:
        cells = "".join(
            f'<td{" class=num" if index in numeric else ""}>{cell}</td>'
            for index, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _text(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _summary(report: dict[str, Any]) -> str:
    totals = report["totals"]
    quality = report["quality"]
    cards = [("alerts", totals["alerts"])]
    cards += [(severity, totals["by_severity"][severity]) for severity in SEVERITIES]
    cards += [
        ("suppressed", totals["suppressed"]),
        ("events ingested", quality["events_ingested"]),
        ("quarantined", report["quarantine"]["on_day"]),
    ]
    html = "".join(
        f'<div class="card" data-figure="{escape(label)}"><div class="value">{value}</div>'
        f'<div class="label">{escape(label)}</div></div>'
        for label, value in cards
    )
    return f'<div class="cards">{html}</div>'


def _per_rule(report: dict[str, Any]) -> str:
    rows = report["per_rule"]
    chart = horizontal_bars(
        [
            (f"{row['rule_id']} ({row['severity']})", row["alerts"],
             SEVERITY_COLORS.get(row["severity"], "#9ca3af"))
            for row in rows if row["alerts"]
        ],
        title="Alerts per rule and severity",
    ) if any(row["alerts"] for row in rows) else ""
    table = _table(
        ["rule", "title", "severity", "alerts", "suppressed"],
        [
            [f"<code>{_text(row['rule_id'])}</code>", _text(row["rule_title"]),
             _severity_badge(row["severity"]), row["alerts"], row["suppressed"]]
            for row in rows
        ],
        numeric={3, 4},
    )
    return chart + table


def _per_day(report: dict[str, Any]) -> str:
    days = report["chart_days"]
    series = {severity: [0] * len(days) for severity in SEVERITIES}
    position = {day: index for index, day in enumerate(days)}
    for row in report["per_day"]:
        if row["day"] in position and row["severity"] in series:
            series[row["severity"]][position[row["day"]]] += row["alerts"]
    series = {name: values for name, values in series.items() if any(values)}
    if not series:
        return f'<p class="empty">No alerts from {days[0]} to {days[-1]}.</p>'
    return stacked_bars(
        [day[5:] for day in days], series, title=f"Alerts per day, {days[0]} to {days[-1]}"
    )


def _top_agents(report: dict[str, Any]) -> str:
    return _table(
        ["agent", "alerts", "highest severity", "rules"],
        [
            [f"<code>{_text(row['agent_id'])}</code>", row["alerts"],
             _severity_badge(row["highest_severity"]), _text(row["rules"])]
            for row in report["top_agents"]
        ],
        numeric={1},
    )


def _alerts(report: dict[str, Any]) -> str:
    if not report["alerts"]:
        return '<p class="empty">No alerts on this day.</p>'
    blocks = []
    for alert in report["alerts"]:
        suppressed = alert["suppressed_by"] is not None
        color = SEVERITY_COLORS.get(alert["severity"], "#9ca3af")
        evidence = ", ".join(
            f"<code>{escape(event_id)}</code>" for event_id in alert["evidence_event_ids"] or []
        )
        note = (
            f" &middot; suppressed by <code>{_text(alert['suppressed_by'])}</code>"
            if suppressed else ""
        )
        blocks.append(
            f'<div class="alert{" suppressed" if suppressed else ""}" '
            f'id="alert-{escape(alert["alert_id"])}" style="border-color:{color}">'
            f"<div>{_severity_badge(alert['severity'])} <strong>{_text(alert['rule_title'])}"
            f"</strong> &middot; {_text(alert['entity_type'])} "
            f"<code>{_text(alert['entity_id'])}</code>{note}</div>"
            f"<div>{_text(alert['explanation'])}</div>"
            f'<div class="meta">alert <code>{_text(alert["alert_id"])}</code> &middot; '
            f"window {_text(alert['window_start'])} to {_text(alert['window_end'])} &middot; "
            f"agent <code>{_text(alert['agent_id'])}</code></div>"
            f'<div class="meta">evidence: {evidence or "none"}</div></div>'
        )
    return "".join(blocks)


def _data_quality(report: dict[str, Any]) -> str:
    quality = report["quality"]
    quarantine = report["quarantine"]
    figures = [
        ["events ingested on this day", quality["events_ingested"]],
        ["events with event time on this day", quality["events"]],
        ["agents active on this day (event time)", quality["agents"]],
        ["events with redacted secrets (event time on this day)",
         quality["events_with_redactions"]],
        ["denied decisions (event time on this day)", quality["denied"]],
        ["events in the warehouse", quality["events_total"]],
        ["quarantined records ingested on this day", quarantine["on_day"]],
        ["quarantined records in total", quarantine["total"]],
    ]
    if "event_conflicts_total" in quality:
        conflicts = quality["event_conflicts_total"]
        figures.append(["event ids seen again with different content", conflicts])
    html = _table(["figure", "count"], figures, numeric={1})
    html += "<h3>Quarantine by reason</h3>" + _table(
        ["reason", "on this day", "total"],
        [[_text(row["reason"]), row["on_day"], row["total"]] for row in quarantine["reasons"]],
        numeric={1, 2},
    )
    if "deliveries" in quality:
        html += "<h3>SIEM deliveries</h3>" + _table(
            ["sink", "status", "alerts"],
            [[_text(row["sink"]), _text(row["status"]), row["alerts"]]
             for row in quality["deliveries"]],
            numeric={2},
        )
    return html


def render_report(report: dict[str, Any]) -> str:
    """Return the report as a complete HTML document that needs no other file or network."""
    day = escape(report["day"])
    bodies = {
        "summary": ("Summary", _summary(report)),
        "alerts-per-rule": ("Alerts per rule and severity", _per_rule(report)),
        "alerts-per-day": ("Alerts per day", _per_day(report)),
        "top-agents": ("Top agents", _top_agents(report)),
        "alerts": ("Alerts", _alerts(report)),
        "data-quality": ("Data quality and quarantine", _data_quality(report)),
    }
    sections = "".join(
        f'<section id="{section_id}"><h2>{title}</h2>{body}</section>'
        for section_id, (title, body) in ((key, bodies[key]) for key in SECTION_IDS)
    )
    missing = "" if report["alerts_table"] else (
        '<p class="empty">The warehouse has no alerts table yet: run the detections.</p>'
    )
    figures = escape(json.dumps(report["totals"], sort_keys=True))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>agentaudit report {day}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style></head>"
        f'<body data-totals="{figures}"><h1>agentaudit daily report: {day}</h1>'
        f'<p class="meta">Alerts first detected on {day} (UTC). '
        f"Latest event in the warehouse: {_text(report['as_of'])}. "
        f"Generated {_text(report['generated_at'])}.</p>{missing}{sections}</body></html>\n"
    )
