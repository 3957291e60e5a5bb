"""The bundled sample's night shows fair_lending.reach both ways: heloc held, refinance passing.

Why it happens (pipelines/lib/sample/loans.py): note rates run higher in majority-minority
tracts, so refinance alerts (priority 1) gather there, and the one-message-a-day cap defers the
heloc letter (priority 4) of the same borrowers. heloc then reaches those tracts less.

The night runs twice on a copy of the project, as a lender runs its checkout: as it is (heloc
held), and with a reviewer's justification in heloc's file (released), whose sends are the
batch the guard judged. The reach is worked out here from the landing zone's loans and tracts
and the warehouse's audience and audit tables, by COMPLIANCE.md's fair_lending.reach:
borrowers in the audience with a known tract, reached when sent at least one message;
majority-minority is minority_pct >= 50; held with at least 30 a side and AIR < 0.80 or z < -2.
"""

import csv
import io
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.lib.paths import PROJECT_ROOT, SAMPLE_DIR

pytestmark = pytest.mark.slow

NIGHT = date(2026, 11, 27)  # the bundled sample's _as_of
PROJECT_PARTS = ("pipelines", "assets", "templates", "dbt_project")
SEND_FILES = ("email.csv", "sms.csv", "call_list.csv", "direct_mail.csv")
REVIEW = ("fair_lending_review:\n"
          "  justification: rate alerts outrank the letter on the same day; the letter goes "
          "out once the alert sequence ends\n"
          "  reviewer: Dana Whitfield (Compliance)\n"
          "  reviewed_on: '2026-11-27'\n")


def xsell(project: Path, *args: str) -> None:
    env = os.environ | {"PYTHONPATH": str(project)}
    env.pop("XSELL_TEMPLATES", None)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def night(base: Path, project: Path, name: str) -> SimpleNamespace:
    warehouse, out = base / f"{name}.duckdb", base / f"{name}-exports"
    xsell(project, "run", "--input", str(SAMPLE_DIR), "--warehouse", str(warehouse),
          "--out", str(out), "--as-of", NIGHT.isoformat())
    folder = out / NIGHT.isoformat()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # borrower -> the loan of their audience row (one row per borrower and night)
        audiences = {c: dict(con.execute(
            f"select borrower_id, loan_id from marts.audience_{c} where as_of_date = ?", [NIGHT]
        ).fetchall()) for c in ("heloc", "refinance")}
        messages = con.execute(
            "select campaign_id, borrower_id, step, decision, reason from outreach.messages "
            "where as_of_date = ?", [NIGHT]).fetchall()
        metrics = {r[0]: r[1:] for r in con.execute(
            "select campaign_id, reach_minority_eligible, reach_minority_reached, "
            "reach_other_eligible, reach_other_reached, reach_flagged "
            "from marts.campaign_metrics where as_of_date = ?", [NIGHT]).fetchall()}
    exported = {}
    for name_ in SEND_FILES:
        for row in csv.DictReader(io.StringIO((folder / name_).read_text(encoding="utf-8"))):
            exported[row["campaign_id"]] = exported.get(row["campaign_id"], 0) + 1
    return SimpleNamespace(audiences=audiences, messages=messages,
                           metrics=metrics, exported=exported,
                           report=(folder / "report.html").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("sample_fair")
    project = base / "checkout"
    for part in PROJECT_PARTS:
        shutil.copytree(PROJECT_ROOT / part, project / part,
                        ignore=shutil.ignore_patterns("target", "logs", "__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project)  # Dagster finds defs by it
    held = night(base, project, "held")
    heloc = project / "assets" / "campaigns" / "heloc.yaml"
    heloc.write_text(heloc.read_text() + REVIEW)
    released = night(base, project, "released")
    return SimpleNamespace(held=held, released=released)


def sample_tracts() -> tuple[dict[str, str | None], dict[str, float]]:
    """The landing zone's loan -> census tract, and tract -> minority_pct."""
    with (SAMPLE_DIR / "loans.csv").open(newline="", encoding="utf-8") as handle:
        tract_of = {r["loan_id"]: r["property_census_tract"] or None
                    for r in csv.DictReader(handle)}
    with (SAMPLE_DIR / "census_tracts.csv").open(newline="", encoding="utf-8") as handle:
        minority = {r["census_tract"]: float(r["minority_pct"]) for r in csv.DictReader(handle)
                    if r["minority_pct"]}
    return tract_of, minority


def reach(run: SimpleNamespace, campaign: str) -> SimpleNamespace:
    """COMPLIANCE.md fair_lending.reach on a first night: the window holds only this night."""
    tract_of, minority = sample_tracts()
    sent = {b for c, b, _, decision, _ in run.messages if c == campaign and decision == "send"}
    sides = {True: [0, 0], False: [0, 0]}  # majority-minority -> [eligible, reached]
    for borrower, loan in run.audiences[campaign].items():
        pct = minority.get(tract_of[loan])
        if pct is None:
            continue  # no known tract: on neither side
        sides[pct >= 50][0] += 1
        sides[pct >= 50][1] += borrower in sent
    (n1, x1), (n2, x2) = sides[True], sides[False]
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return SimpleNamespace(minority=(n1, x1), other=(n2, x2), air=p1 / p2, z=z,
                           held=min(n1, n2) >= 30 and (p1 / p2 < 0.80 or z < -2))


def decisions(run: SimpleNamespace, campaign: str) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for c, _, _, decision, reason in run.messages:
        if c == campaign:
            found[(decision, reason)] = found.get((decision, reason), 0) + 1
    return found


def test_heloc_under_reaches_minority_tracts_and_is_held(nights):
    # the batch the guard judged: what heloc sends once a justification releases it
    judged = reach(nights.released, "heloc")
    assert min(judged.minority[0], judged.other[0]) >= 30
    assert judged.air < 0.80 and judged.held
    # the guard's own figures (marts.campaign_metrics) agree, and say so without the review
    assert nights.released.metrics["heloc"] == (*judged.minority, *judged.other, True)
    # held: every heloc message of the night is audited as hold, none is in a send file
    held = decisions(nights.held, "heloc")
    assert held == {("hold", "fair_lending.reach"): sum(held.values())} and held
    assert "heloc" not in nights.held.exported
    # the same messages were considered in both runs
    assert sorted((b, s) for c, b, s, _, _ in nights.held.messages if c == "heloc") == sorted(
        (b, s) for c, b, s, _, _ in nights.released.messages if c == "heloc")
    # loud in the report: the holds section and the fair-lending table
    report = nights.held.report
    holds = report[report.index('<section id="holds"'):]
    holds = holds[:holds.index("</section>")]
    assert ">heloc</td>" in holds and '<td class="held">fair_lending.reach</td>' in holds
    # its row shows the batch it was held on (nothing of it was sent)
    fair = report[report.index("<h2>Fair-lending reach</h2>"):]
    heloc_row = fair[fair.rindex("<tr>", 0, fair.index(">heloc</td>")):]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", heloc_row[:heloc_row.index("</tr>")])
    (n1, x1), (n2, x2) = judged.minority, judged.other
    assert [cells[i] for i in (0, 1, 2, 4, 5, 7, 9)] == [
        "heloc", str(n1), str(x1), str(n2), str(x2), f"{judged.air:.2f}", "HELD"]


def test_the_justification_releases_heloc(nights):
    released = decisions(nights.released, "heloc")
    assert ("hold", "fair_lending.reach") not in released
    sent = released[("send", "all_rules_passed")]
    assert sent > 0 and nights.released.exported["heloc"] == sent


def test_refinance_reaches_both_sides_alike_and_exports(nights):
    refinance = reach(nights.held, "refinance")
    assert min(refinance.minority[0], refinance.other[0]) >= 30
    assert refinance.air >= 0.80 and refinance.z >= -2 and not refinance.held
    assert nights.held.metrics["refinance"] == (*refinance.minority, *refinance.other, False)
    by_reason = decisions(nights.held, "refinance")
    assert not [d for d, _ in by_reason if d == "hold"]
    sent = by_reason[("send", "all_rules_passed")]
    assert sent > 0 and nights.held.exported["refinance"] == sent
