"""`agentaudit report`: a well-formed, self-contained HTML file with the expected figures.

The figures on the page are compared with the same counts queried from the warehouse, and
with the scenario's known alerts and quarantined records.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.report.html import SECTION_IDS
from tests.investigate.conftest import QUARANTINED, build_fleet_warehouse, run_agentaudit

VOID_ELEMENTS = {"meta", "br", "hr", "img", "link", "input", "line", "rect", "path", "circle"}


class PageParser(HTMLParser):
    """Check that every element closes in order, and collect ids, figures and references."""

    def __init__(self):
        super().__init__()
        self.open_tags: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.figures: dict[str, str] = {}
        self.tags: set[str] = set()
        self.references: list[str] = []
        self._figure: str | None = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        if "id" in attributes:
            self.ids.append(attributes["id"])
        for name in ("src", "href"):
            if name in attributes:
                self.references.append(attributes[name])
        if "data-figure" in attributes:
            self._figure = attributes["data-figure"]
        if attributes.get("class") == "value" and self._figure:
            self._in_value = True
        if tag not in VOID_ELEMENTS:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)

    def handle_endtag(self, tag):
        if tag in VOID_ELEMENTS:
            return
        if not self.open_tags or self.open_tags[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open_tags[-1:]}")
            return
        self.open_tags.pop()

    def handle_data(self, data):
        if self._in_value:
            self.figures[self._figure] = data
            self._in_value = False
            self._figure = None


def parse_page(path: Path) -> tuple[str, PageParser]:
    text = path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return text, parser


@pytest.fixture
def day_two_report(invoke, tmp_path) -> tuple[Path, dict]:
    out = tmp_path / "report.html"
    result = invoke("report", "--date", "2026-03-10", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_report_is_well_formed(day_two_report):
    text, page = parse_page(day_two_report[0])
    assert text.startswith("<!DOCTYPE html>")
    assert page.errors == []
    assert page.open_tags == []


def test_report_sections_in_order(day_two_report):
    _, page = parse_page(day_two_report[0])
    sections = [element_id for element_id in page.ids if element_id in SECTION_IDS]
    assert sections == list(SECTION_IDS)


def test_report_self_contained(day_two_report):
    text, page = parse_page(day_two_report[0])
    assert page.references == []
    assert "script" not in page.tags
    assert "link" not in page.tags
    # The only address on the page is the SVG namespace, which is a name, not a fetch.
    addresses = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert addresses == {"http://www.w3.org/2000/svg"}
    assert "svg" in page.tags


def test_report_totals_match_warehouse(day_two_report, fleet_dir):
    path, summary = day_two_report
    _, page = parse_page(path)
    with duckdb.connect(str(fleet_dir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        expected = con.execute(
            "SELECT count(*) FROM alerts WHERE CAST(first_detected_at AS DATE) = '2026-03-10' "
            "AND suppressed_by IS NULL"
        ).fetchone()[0]
    assert expected == 1
    assert summary["totals"]["alerts"] == expected
    assert page.figures["alerts"] == str(expected)
    assert page.figures["high"] == "1"
    assert page.figures["critical"] == "0"


def test_report_alert_explanation_and_evidence(day_two_report):
    text, page = parse_page(day_two_report[0])
    alert_ids = [element_id for element_id in page.ids if element_id.startswith("alert-")]
    assert len(alert_ids) == 1
    assert "credential_outlives_task" in text
    assert "Credential cred-task-1" in text
    for event_id in ("e-003", "e-005", "e-007", "e-103"):
        assert f"<code>{event_id}</code>" in text
    # Day one's alert is not on day two's page.
    assert "privilege_creep" not in text


def test_report_top_agents(day_two_report):
    text, _ = parse_page(day_two_report[0])
    top = text.split('id="top-agents"')[1].split("</section>")[0]
    assert "<code>agent-support-1</code>" in top
    assert "<td class=num>1</td>" in top


def test_report_chart_covers_both_days(day_two_report):
    text, _ = parse_page(day_two_report[0])
    chart = text.split('id="alerts-per-day"')[1].split("</section>")[0]
    assert "<title>03-09: 1 high</title>" in chart
    assert "<title>03-10: 1 high</title>" in chart


def test_report_quarantine_counts(day_two_report):
    path, summary = day_two_report
    text, page = parse_page(path)
    on_day = sum(count for day, _, count in QUARANTINED if day == "2026-03-10")
    total = sum(count for _, _, count in QUARANTINED)
    assert summary["quarantined_on_day"] == on_day
    assert page.figures["quarantined"] == str(on_day)
    quality = text.split('id="data-quality"')[1].split("</section>")[0]
    assert f"<td>quarantined records in total</td><td class=num>{total}</td>" in quality
    assert "missing required field agent_id</td><td class=num>1</td>" in quality


def test_report_default_path(invoke, fleet_dir, tmp_path):
    # A copy of the warehouse, so the shared data directory gets no report folder.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "warehouse.duckdb").write_bytes((fleet_dir / "warehouse.duckdb").read_bytes())
    result = invoke("report", "--date", "2026-03-09", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    expected = data_dir / "reports" / "agentaudit-report-2026-03-09.html"
    assert result.stdout.strip() == str(expected)
    text, _ = parse_page(expected)
    assert "privilege_creep" in text


def test_report_day_without_alerts(invoke, tmp_path):
    out = tmp_path / "empty.html"
    result = invoke("report", "--date", "2025-01-01", "--out", str(out), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["alerts"] == 0
    text, page = parse_page(out)
    assert page.errors == []
    assert "No alerts on this day." in text


def test_report_suppressed_alert(invoke, tmp_path):
    suppression = {
        "id": "sup-support-grants", "rule_id": "privilege_creep", "entity_id": "svc-support",
        "owner": "iam-team", "reason": "quarterly access review approved", "expires": "2027-01-01",
    }
    build_fleet_warehouse(tmp_path, suppressions=[suppression])
    out = tmp_path / "suppressed.html"
    result = invoke("report", "--date", "2026-03-09", "--out", str(out), "--json",
                    data_dir=tmp_path)
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert totals["alerts"] == 0
    assert totals["suppressed"] == 1
    text, page = parse_page(out)
    assert page.figures["suppressed"] == "1"
    assert 'class="alert suppressed"' in text
    assert "suppressed by <code>sup-support-grants</code>" in text
    # A suppressed alert is listed, but counts in neither the chart nor the top agents.
    assert "No alerts from" in text.split('id="alerts-per-day"')[1].split("</section>")[0]


def test_report_errors(invoke, tmp_path):
    assert invoke("report", "--date", "2026-13-01").exit_code == 2
    missing = invoke("report", data_dir=tmp_path)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: no warehouse at")


def test_report_installed_script(fleet_dir, tmp_path):
    out = tmp_path / "script.html"
    result = run_agentaudit("report", "--date", "2026-03-10", "--out", str(out), data_dir=fleet_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert out.stat().st_size > 0
