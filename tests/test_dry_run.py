"""`xsell run --dry-run` on the bundled sample: a preview report, and no state changed.

A real night first, so that there is state to keep: then the dry run of the next night must
leave the warehouse file byte for byte and every export file as it was, writing only its
preview under `<out>/preview/`. Finally the real run of that night shows the preview told the
truth.
"""

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.paths import PREVIEW_FOLDER, SAMPLE_DIR

pytestmark = pytest.mark.slow

FIRST = date(2026, 11, 26)
NIGHT = date(2026, 11, 27)  # the bundled sample's _as_of
# what a night writes: every table a later night or an analyst reads
STATE_TABLES = ("outreach.messages", "outreach.enrollments", "outreach.lo_alerts",
                "marts.campaign_metrics", "marts.campaign_message_reasons", "ops.nights",
                "marts.loan_features", "marts.audience_refinance")


def run(base: Path, as_of: date, *extra: str) -> int:
    return main(["run", "--input", str(base / "zone"), "--warehouse",
                 str(base / "warehouse.duckdb"), "--out", str(base / "exports"),
                 "--as-of", as_of.isoformat(), *extra])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exports_tree(out: Path) -> dict[str, str]:
    """Every file under the exports folder but the previews, by relative path."""
    return {str(p.relative_to(out)): sha256(p) for p in sorted(out.rglob("*"))
            if p.is_file() and p.relative_to(out).parts[0] != PREVIEW_FOLDER}


def tables(warehouse: Path) -> dict[str, tuple]:
    """Each state table's row count and an order-free hash of its rows."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: con.execute(f"select count(*), sum(hash(t)) from {t} as t").fetchone()
                for t in STATE_TABLES}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("dry_run")
    shutil.copytree(SAMPLE_DIR, base / "zone")
    warehouse, out = base / "warehouse.duckdb", base / "exports"
    assert run(base, FIRST) == 0
    before = SimpleNamespace(file=sha256(warehouse), tables=tables(warehouse),
                             exports=exports_tree(out))
    assert run(base, NIGHT, "--dry-run") == 0
    after = SimpleNamespace(file=sha256(warehouse), tables=tables(warehouse),
                            exports=exports_tree(out),
                            leftovers=sorted(p.name for p in base.iterdir())
                            + sorted(p.name for p in out.iterdir()))
    preview_dir = out / PREVIEW_FOLDER
    preview = SimpleNamespace(
        files=sorted(str(p.relative_to(preview_dir)) for p in preview_dir.rglob("*")
                     if p.is_file()),
        report=(preview_dir / NIGHT.isoformat() / "report.html").read_text(encoding="utf-8"))
    assert run(base, NIGHT) == 0  # the real night, for comparison
    real = (out / NIGHT.isoformat() / "report.html").read_text(encoding="utf-8")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        real_sent = con.execute("select count(*) from outreach.messages where as_of_date = ? "
                                "and decision = 'send'", [NIGHT]).fetchone()[0]
    return SimpleNamespace(before=before, after=after, preview=preview, real=real,
                           real_sent=real_sent, warehouse=warehouse)


def test_the_warehouse_file_is_byte_for_byte_the_same(nights):
    assert nights.after.file == nights.before.file


def test_no_enrollment_audit_row_or_metric_was_written(nights):
    assert nights.after.tables == nights.before.tables
    # and the night did have work to record: the real run of it sent messages
    assert nights.real_sent > 0


def test_no_send_file_and_no_export_changed(nights):
    assert nights.after.exports == nights.before.exports
    assert not any(name.startswith(NIGHT.isoformat()) for name in nights.before.exports)
    # no working copy, no staged send files left behind
    assert not [n for n in nights.after.leftovers if ".next" in n or "staging" in n]


def test_the_preview_report_is_the_only_thing_written_and_says_so(nights):
    report = nights.preview.report
    assert nights.preview.files[0] == f"{NIGHT.isoformat()}/report.html"
    # besides the report, only the dry run's own validation result
    assert all(f.startswith("validation/") for f in nights.preview.files[1:])
    assert f"<title>xsell night {NIGHT.isoformat()} PREVIEW</title>" in report
    notice = report.index('<p id="preview"')
    assert notice < report.index('<section id="holds"')
    assert "PREVIEW (dry run)" in report and "Nothing was sent" in report


def test_the_preview_shows_what_the_real_night_then_did(nights):
    # byte for byte the real night's report, once the preview's marks are taken off
    report = nights.preview.report
    start = report.index('<p id="preview"')
    notice = report[start:report.index("</p>", start) + len("</p>\n")]
    title = f"xsell night {NIGHT.isoformat()}"
    assert report.replace(notice, "").replace(f"{title} PREVIEW", title) == nights.real
    assert "PREVIEW" not in nights.real


def test_dbt_docs_generate_documents_the_marts_and_their_exposures(nights, tmp_path):
    """The README's command, against the warehouse the nights wrote; it changes nothing."""
    from dbt.cli.main import dbtRunner

    from pipelines.lib.campaigns import load_campaigns
    from pipelines.lib.dbt_args import dbt_vars
    from pipelines.lib.paths import DBT_PROJECT_DIR

    before = sha256(nights.warehouse)
    target = tmp_path / "docs"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("XSELL_WAREHOUSE", str(nights.warehouse))
        result = dbtRunner().invoke([
            "docs", "generate", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
            "--vars", json.dumps(dbt_vars(load_campaigns()))])
    assert result.success, result.exception
    assert sha256(nights.warehouse) == before
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert sorted(exposures) == ["analyst_queries", "nightly_report", "send_files"]
    assert "source.xsell.metrics.campaign_metrics" in exposures["nightly_report"][
        "depends_on"]["nodes"]
    assert "model.xsell.audience_refinance" in exposures["send_files"]["depends_on"]["nodes"]
    # the Python-written marts are documented with their columns as the warehouse holds them
    metrics = catalog["sources"]["source.xsell.metrics.campaign_metrics"]["columns"]
    assert {"refinance_recapture_rate", "lift_low", "reach_air"} <= set(metrics)
    assert "model.xsell.loan_features" in catalog["nodes"]
