"""report.html: one self-contained file with a chart per section, holds first, same bytes."""

import re
import shutil
import struct
import subprocess
import zlib
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.campaigns import load_campaigns
from pipelines.lib.enrollment import DueStep, Enrollment
from pipelines.lib.metrics_charts import ENTERED, PALETTE
from pipelines.lib.metrics_reach import judge_reach
from pipelines.lib.outreach.plan import Considered, LoAlert, NightPlan
from pipelines.lib.outreach.report import write_report
from tests.test_metrics import CAMPAIGNS, ENROLLMENTS, MESSAGES, N3, build_history

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class StrictParser(HTMLParser):
    """Fails on an end tag that closes nothing open, and on tags left open at the end."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def parse(text: str) -> StrictParser:
    parser = StrictParser()
    parser.feed(text)
    parser.close()
    assert parser.open == [], f"left open: {parser.open}"
    return parser


def plan_for(night: date, holds: dict[str, str] | None = None) -> NightPlan:
    """Tonight's plan as the planner would have made it, from the fixture's rows."""
    considered = []
    for m in (m for m in MESSAGES if m["as_of_date"] == night):
        campaign = CAMPAIGNS[m["campaign_id"]]
        e = Enrollment(f"e{m['borrower_id']}", m["campaign_id"], m["borrower_id"],
                       f"L{m['borrower_id'][1:]}", night, False, None, "sha")
        considered.append(Considered(DueStep(e, m["step"], night), campaign, m["message_id"],
                                     m["decision"], m["reason"], None, None, e.loan_id,
                                     night + timedelta(days=1)))
    enrollments = [Enrollment(e["enrollment_id"], e["campaign_id"], e["borrower_id"],
                              e["loan_id"], e["enrolled_on"], e["control_group"], None, "sha")
                   for e in ENROLLMENTS if e["as_of_date"] == night]
    alerts = [LoAlert("LO1", "B2", "L2", 20, ["refinance"], "send", None)]
    return NightPlan(night, enrollments, {}, considered, alerts, holds or {})


@pytest.fixture(scope="module")
def stored():
    with duckdb.connect() as con:
        build_history(con)
        yield con


@pytest.fixture(scope="module")
def report(stored, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(path, plan_for(N3, {"refinance": "volume.guard"}), stored)
    return path.read_text(encoding="utf-8")


def test_the_report_is_one_html_file_that_needs_no_network(report):
    parsed = parse(report)
    assert parsed.tags[:2] == ["html", "head"]
    assert "http" not in report  # no CDN, no fonts, no images to fetch
    assert not {"script", "link", "img", "iframe"} & set(parsed.tags)


def test_a_chart_per_section(report):
    labels = re.findall(r'<svg class="chart"[^>]* aria-label="([^"]+)"', report)
    assert labels.count("Audience size per campaign, last 90 nights") == 1
    campaigns = {cid for cid, c in load_campaigns().items() if c.enabled} | {
        m["campaign_id"] for m in MESSAGES if m["as_of_date"] == N3}
    assert {lb.split(":")[0] for lb in labels if "entered and left" in lb} == campaigns
    assert "Funnel per campaign: eligible, enrolled, sent, converted" in labels
    assert "Messages not sent tonight, by decision and rule" in labels
    assert any(lb.startswith("Lift (treated minus control") for lb in labels)
    assert report.count("<svg") == len(labels) == 4 + len(campaigns)


def test_disabled_campaigns_are_left_out(report):
    disabled = sorted(cid for cid, c in load_campaigns().items() if not c.enabled)
    assert disabled == ["arm_reset", "pmi_removal"]  # as they ship
    assert not [cid for cid in disabled if cid in report]


def test_only_a_dry_run_is_marked_as_a_preview(stored, report, tmp_path):
    assert "PREVIEW" not in report
    write_report(tmp_path / "preview.html", plan_for(N3), stored, preview=True)
    preview = (tmp_path / "preview.html").read_text()
    parse(preview)
    assert f"<title>xsell night {N3.isoformat()} PREVIEW</title>" in preview
    assert preview.index("PREVIEW (dry run)") < preview.index('<section id="holds"')


def test_holds_come_first_and_loud(report):
    holds = report.index('<section id="holds" class="holds">')
    assert holds < report.index("Tonight's decisions")
    section = report[holds:report.index("</section>", holds)]
    assert "HELD: 1 campaign with messages not sent tonight" in section
    assert '<td class="held">volume.guard</td>' in section
    assert "<td>1</td>" in section  # the one message held (B3, step 1)


def test_no_holds_says_so(stored, tmp_path):
    plan = plan_for(N3)
    plan.considered = [c for c in plan.considered if c.decision != "hold"]
    write_report(tmp_path / "r.html", plan, stored)
    text = (tmp_path / "r.html").read_text()
    assert "No holds tonight." in text and "HELD" not in text


def test_a_message_held_for_its_template_is_in_the_holds_section(stored, tmp_path):
    plan = plan_for(N3)  # no campaign guard
    plan.considered[0].decision, plan.considered[0].reason = "hold", "content.approved"
    write_report(tmp_path / "r.html", plan, stored)
    text = (tmp_path / "r.html").read_text()
    section = text[text.index('<section id="holds" class="holds">'):]
    section = section[:section.index("</section>")]
    assert '<td class="held">content.approved</td>' in section
    assert "no approval on record" in section


def test_the_figures_match_the_metrics(report):
    # refinance tonight: 3 considered, 1 send, 0 defer, 1 suppress, 0 block, 1 hold
    assert ('<tr><td class="t">refinance</td><td>3</td><td>1</td><td>0</td><td>1</td><td>0</td>'
            "<td>1</td></tr>") in report
    # funnel: eligible 5, enrolled 4 (treated), sent 3, converted 2
    funnel = '<tr><td class="t">refinance</td><td>5</td><td>4</td><td>3</td><td>2</td></tr>'
    assert funnel in report
    assert "+33.3 pp" in report  # lift 2/3 − 1/3
    assert "66.7 %" in report  # recapture 2 of 3


def test_ids_and_counts_only(report):
    # no borrower, loan or officer id: every figure is a count (chart paths aside, whose
    # "L584,20" is a line-to)
    text = re.sub(r"<svg.*?</svg>", "", report, flags=re.DOTALL)
    assert not re.search(r"\b(B\d+|L\d+b?|LO\d+)\b", text)
    assert not re.search(r"\bB\d+\b", report)


def test_same_bytes_on_a_rerun_and_before_tonight_is_stored(stored, tmp_path):
    plan = plan_for(N3, {"refinance": "volume.guard"})
    write_report(tmp_path / "first.html", plan, stored)
    write_report(tmp_path / "again.html", plan, stored)
    with duckdb.connect() as dry_run:  # tonight's rows not yet written
        build_history(dry_run, with_tonight=False)
        write_report(tmp_path / "dry.html", plan, dry_run)
    first = (tmp_path / "first.html").read_bytes()
    assert first == (tmp_path / "again.html").read_bytes() == (tmp_path / "dry.html").read_bytes()


def test_an_empty_warehouse_still_reports(tmp_path):
    with duckdb.connect() as con:
        write_report(tmp_path / "empty.html", NightPlan(N3, [], {}, [], []), con)
    text = (tmp_path / "empty.html").read_text()
    parse(text)
    assert "No holds tonight." in text and "No loan book to measure." in text


# --- in a real browser


def _png_colors(path: Path) -> set[tuple[int, int, int]]:
    """The distinct RGB colours of an 8-bit, non-interlaced RGB or RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IDAT":
            idat += body
        else:
            chunks.setdefault(kind, body)
        pos += 12 + length
    width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB",
                                                                     chunks[b"IHDR"])
    assert depth == 8 and color_type in (2, 6) and interlace == 0
    bpp = 3 if color_type == 2 else 4
    raw, stride, colors = zlib.decompress(idat), width * bpp, set()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) \
                    & 0xFF
        colors.update(tuple(line[i:i + 3]) for i in range(0, stride, bpp))
        previous = line
    return colors


def _hex(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs apt-get install chromium")
def test_headless_chromium_draws_the_charts_with_no_console_errors(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
             "--window-size=1200,2400", "--hide-scrollbars"]
    done = subprocess.run(["chromium", *flags, f"--screenshot={shot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "CONSOLE" not in done.stderr, done.stderr[-2000:]
    colors = _png_colors(shot)
    # the audience lines, the entered bars and the funnel bars are on the page as drawn
    assert _hex(ENTERED) in colors
    assert sum(_hex(c) in colors for c in PALETTE[:3]) == 3
    dom = subprocess.run(["chromium", *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=False).stdout
    assert dom.count("<svg") == report.count("<svg")
    assert dom.count("<rect") == report.count("<rect")


def test_a_fair_lending_hold_shows_in_the_reach_table(stored, tmp_path):
    write_report(tmp_path / "r.html", plan_for(N3, {"refinance": "fair_lending.reach"}), stored)
    text = (tmp_path / "r.html").read_text()
    table = text[text.index("<h2>Fair-lending reach</h2>"):]
    row = table[table.index('<td class="t">refinance</td>'):]
    assert row[:row.index("</tr>")].endswith('<td class="held">HELD</td>')
    assert "borrowers in majority-minority tracts were reached less" in text


def test_a_fair_lending_hold_shows_the_batch_it_was_held_on(stored, tmp_path):
    """Nothing of a held batch is sent, so the stored reach counts nobody reached; the row
    shows instead the figures the guard judged: 10 of 40 against 40 of 50. AIR = 0.25 / 0.80
    = 0.3125; pooled p = 50/90, z = (0.25 − 0.80) / √(p(1−p)(1/40 + 1/50)) = −5.22."""
    plan = plan_for(N3, {"refinance": "fair_lending.reach"})
    plan.reach_held = {"refinance": judge_reach("refinance", N3, 30, (40, 10), (50, 40))}
    write_report(tmp_path / "r.html", plan, stored)
    text = (tmp_path / "r.html").read_text()
    table = text[text.index("<h2>Fair-lending reach</h2>"):]
    row = table[table.index('<td class="t">refinance</td>'):]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row[:row.index("</tr>")])
    assert cells == ["refinance", "40", "10", "25.0 %", "50", "40", "80.0 %", "0.31", "-5.22",
                     "HELD"]
