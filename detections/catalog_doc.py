"""Render docs/detections.md, the rule catalogue, from the rules' metadata.

The page is generated: edit rule.yaml and run `agentaudit rules catalog`, never the page.
A test fails when the committed page differs from what this module renders.
"""

from __future__ import annotations

from pathlib import Path

from detections.catalog import Rule, load_rules

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "detections.md"


def _format_default(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(f"`{item}`" for item in value)
    return f"`{value}`"


def _dedup_text(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440} day(s)"
    if minutes % 60 == 0:
        return f"{minutes // 60} hour(s)"
    return f"{minutes} minute(s)"


def render_rule(rule: Rule) -> list[str]:
    """Return the Markdown lines of one rule's section."""
    attack = "; ".join(f"{t['id']} {t['name']}" for t in rule.mitre_attack)
    must_alert = sum(1 for fixture in rule.fixtures if fixture.must_alert)
    lines = [
        f"## {rule.id}",
        "",
        f"**{rule.title}**",
        "",
        "| property | value |",
        "| --- | --- |",
        f"| severity (default) | {rule.severity} |",
        f"| status | {rule.status} |",
        f"| entity | {rule.entity_type} |",
        f"| MITRE ATT&CK | {attack} |",
        f"| dedup window | {_dedup_text(rule.dedup_window_minutes)} |",
        f"| fixtures | {must_alert} must alert, {len(rule.fixtures) - must_alert} must not |",
        "",
        rule.description,
        "",
        f"Why it matters: {rule.rationale}",
        "",
        "### Thresholds",
        "",
    ]
    if rule.thresholds:
        lines += ["| name | default | meaning |", "| --- | --- | --- |"]
        lines += [
            f"| `{t.name}` | {_format_default(t.default)} | {t.description} |"
            for t in rule.thresholds
        ]
        lines.append("")
        lines.append(f"Override in `config/agentaudit.yaml` under `detections.{rule.id}`.")
    else:
        lines.append("None.")
    lines += ["", "### False positives", ""]
    lines += [f"- {item}" for item in rule.false_positives]
    lines += ["", "### Runbook", ""]
    lines += [f"{index}. {step}" for index, step in enumerate(rule.runbook, start=1)]
    lines += ["", "### References", ""]
    lines += [f"- [{ref['title']}]({ref['url']})" for ref in rule.references]
    lines.append("")
    return lines


def render_catalog(rules: list[Rule] | None = None) -> str:
    """Return the whole catalogue page as Markdown."""
    rules = rules if rules is not None else load_rules()
    lines = [
        "# Detection catalogue",
        "",
        "Generated from `detections/rules/*/rule.yaml` by `agentaudit rules catalog`; do not",
        "edit by hand. How to write a rule: [detection-engineering.md](detection-engineering.md).",
        "",
        "| rule | title | severity | status | entity |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| [{r.id}](#{r.id}) | {r.title} | {r.severity} | {r.status} | {r.entity_type} |"
        for r in rules
    ]
    lines.append("")
    for rule in rules:
        lines += render_rule(rule)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_catalog(path: Path = DEFAULT_OUTPUT, rules: list[Rule] | None = None) -> bool:
    """Write the catalogue to `path`; return True when the file changed."""
    text = render_catalog(rules)
    old = path.read_text(encoding="utf-8") if path.exists() else None
    if old == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
