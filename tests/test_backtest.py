"""`xsell backtest` on a tiny history in the published layouts, recall and lift worked by hand.

Five 30-year loans closed 01/2000 in TX (no metro), replayed at 2001-01-31, 02-28 and 03-31:

| loan | note | UPB Jan / Feb / Mar        | value   | ends                  |
|------|------|----------------------------|---------|-----------------------|
| L1   | 8.00 | 99,000 / 98,900            | 125,000 | payoff (01) 03/2001   |
| L2   | 7.25 | 99,000 / 98,900 / 98,800   | 200,000 | payoff (01) 04/2001   |
| L3   | 7.50 | 400,000 / 399,000 / 398,500| 500,000 | -                     |
| L4   | 7.00 | 99,000, then 0             | 125,000 | payoff (01) 02/2001   |
| L5   | 7.00 | 99,000, then 0             | 250,000 | repurchase (06) 02/2001 |

PMMS 30-year: 7.00 through 2001-01-25, 6.50 from 2001-02-01 (the week after January ends).
FHFA TX: 100 up to 2000Q3, 150 in 2000Q4 (published 2001-02-28, so not known on 01-31).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.lib.backtest.dbt_macros import condition_met_sql, project_vars
from pipelines.lib.campaigns import load_campaigns

ACQ = ("{id}|R|TEST BANK|{rate}|{upb}|360|01/2000|03/2000|{ltv}||1|30|700|N|P|SF|1|P|TX|770||"
       "FRM|||N|200001")
PERF = ("{id}|{m}/01/{y}|NULL|{rate}|{upb}|{age}.0|348.0|347.0|02/2030|0.0|{dq}|N|{zb}|{zbd}"
        + "|" * 17)
LOANS = {  # id: note rate, original amount, LTV %, UPB by month (None = no row), (code, month)
    "100000000001": (8.00, 100000, 80, [99000, 98900, 0], ("01", 3)),
    "100000000002": (7.25, 100000, 50, [99000, 98900, 98800], None),
    "100000000003": (7.50, 450000, 90, [400000, 399000, 398500], None),
    "100000000004": (7.00, 100000, 80, [99000, 0], ("01", 2)),
    "100000000005": (7.00, 100000, 40, [99000, 0], ("06", 2)),
}
L2_PAYOFF = PERF.format(id="100000000002", m="04", y=2001, rate=7.25, upb="", age=14, dq=-2,
                        zb="01", zbd="04/2001")


def tiny_history(root: Path) -> Path:
    def write(folder: str, name: str, lines: list[str]) -> None:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text("\n".join(lines) + "\n")

    acq, perf = [], []
    for loan_id, (rate, upb, ltv, balances, end) in LOANS.items():
        acq.append(ACQ.format(id=loan_id, rate=rate, upb=upb, ltv=ltv))
        for month, balance in enumerate(balances, start=1):
            ends_now = end is not None and end[1] == month
            perf.append(PERF.format(
                id=loan_id, m=f"{month:02}", y=2001, rate=rate,
                upb="" if ends_now else balance, age=10 + month, dq=-2 if ends_now else 0,
                zb=end[0] if ends_now else "NULL", zbd=f"{month:02}/2001" if ends_now else ""))
    perf.append(L2_PAYOFF)
    fannie = "fannie_mae_sflp_2000Q1_subset"
    write(fannie, "Acquisition_2000Q1.txt", acq)
    write(fannie, "Performance_2000Q1-P_part.txt", sorted(perf))  # text order, as published
    write("pmms_freddiemac", "PMMS_history.csv", [
        "date,pmms30,pmms30p,pmms15,pmms15p,pmms51,pmms51p,pmms51m,pmms51spread",
        "12/28/2000,7.00,1,6.5,1,,,,", "1/25/2001,7.00,1,6.5,1,,,,",
        "2/1/2001,6.50,1,6,1,,,,", "3/29/2001,6.50,1,6,1,,,,",
    ])
    # ZIP 770xx all lie in Harris County (Houston CBSA 26420), so the loans' 3-digit ZIP
    # gives them a CBSA; the fixture has no Houston index, so values still move with TX.
    write("crosswalks", "hud_zip_county_122020.csv", [
        "ZIP,COUNTY,RES_RATIO,BUS_RATIO,OTH_RATIO,TOT_RATIO",
        "77001,48201,1,1,1,1", "77002,48201,1,1,1,1"])
    write("crosswalks", "cbsa2fipsxw.csv", [
        "cbsacode,metropolitandivisioncode,csacode,cbsatitle,metropolitanmicropolitanstatis,"
        "metropolitandivisiontitle,csatitle,countycountyequivalent,statename,fipsstatecode,"
        "fipscountycode,centraloutlyingcounty",
        '26420,,288,"Houston-Pasadena-The Woodlands, TX",Metropolitan Statistical Area,,'
        '"Houston-Pasadena, TX",Harris County,Texas,48,201,Central'])
    write("fhfa_hpi", "hpi_at_state.csv",
          ["TX,2000,1,100", "TX,2000,2,100", "TX,2000,3,100", "TX,2000,4,150"])
    write("fhfa_hpi", "hpi_at_metro.csv", ['"Abilene, TX",10180,2000,1,100,( 1.00)'])
    write("fhfa_hpi", "hpi_at_us_and_census.csv", ["USA,2000,1,100"])
    write("fhfa_hpi", "hpi_at_3zip_quarterly.csv",
          ["zip3,year,quarter,index_nsa,index_type", "770,2000,1,100,Native 3-Digit ZIP index"])
    return root


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("bt")
    out = root / "out"
    assert main(["backtest", "--campaign", "refinance", "--from", "2001-01", "--to", "2001-03",
                 "--input", str(tiny_history(root / "realdata")), "--out", str(out)]) == 0
    return out


def rows(out: Path, signal: str) -> list[tuple]:
    frame = pl.read_csv(out / "refinance.csv", infer_schema=False)
    return frame.filter(pl.col("signal") == signal).select(
        "month", "loans", "flagged", "payoffs", "flagged_payoffs").rows()


def figures(out: Path, signal: str) -> list[tuple]:
    doc = json.loads((out / "refinance.json").read_text())
    return [(r["month"], r["recall"], r["payoff_rate_flagged"], r["payoff_rate_unflagged"],
             r["lift"]) for r in doc["rows"] if r["signal"] == signal]


def approx(table: list[tuple]) -> list[tuple]:
    return [tuple(pytest.approx(v) if isinstance(v, float) else v for v in r) for r in table]


def test_refinance_trigger_by_hand(result):
    # Jan (7.00): L1 spread 100 >= 75; L3 spread 50 with UPB exactly 400,000 (>= 50 tier);
    #   L3's February balance (399,000, where 50 bps would not do) is not known yet.
    #   Payoffs Feb-Apr: L1, L2, L4 (L5's 06 is no payoff).
    # Feb (6.50): L4 and L5 left the book; L1 150, L2 75 (boundary), L3 100: all flagged.
    # Mar: L1 paid off in March, so L2 and L3 remain, both flagged; L2 pays off in April.
    assert rows(result, "refinance trigger") == [
        ("2001-01", "5", "2", "3", "1"),
        ("2001-02", "3", "3", "2", "2"),
        ("2001-03", "2", "2", "1", "1"),
        ("pooled", "10", "7", "6", "4"),
    ]
    assert figures(result, "refinance trigger") == approx([
        ("2001-01", 1 / 3, 1 / 2, 2 / 3, 0.75),
        ("2001-02", 1.0, 2 / 3, None, None),  # no unflagged loan: lift undefined
        ("2001-03", 1.0, 1 / 2, None, None),
        ("pooled", 4 / 6, 4 / 7, 2 / 3, (4 / 7) / (2 / 3)),
    ])


def test_refinance_trigger_and_eligibility_by_hand(result):
    # Savings = scheduled P&I on the original loan - P&I on the UPB at the market rate:
    # Jan L1 733.76 - 658.65 = 75.11 < 100; L3 3,146.47 - 2,661.21 = 485.26, breakeven
    # ceil(8,000 / 485.26) = 17 <= 36. Feb L1 733.76 - 625.12 = 108.64, breakeven 19;
    # L2 682.18 - 625.12 = 57.06 < 100. So Jan {L3}, Feb {L1, L3}, Mar {L3}.
    assert rows(result, "refinance trigger+eligibility") == [
        ("2001-01", "5", "1", "3", "0"),
        ("2001-02", "3", "2", "2", "1"),
        ("2001-03", "2", "1", "1", "0"),
        ("pooled", "10", "4", "6", "1"),
    ]
    assert figures(result, "refinance trigger+eligibility") == approx([
        ("2001-01", 0.0, 0.0, 3 / 4, 0.0),
        ("2001-02", 1 / 2, 1 / 2, 1.0, 0.5),
        ("2001-03", 0.0, 0.0, 1.0, 0.0),
        ("pooled", 1 / 6, 1 / 4, 5 / 6, 0.3),
    ])


def test_heloc_equity_condition_by_hand(result):
    # available_equity = value x HPI_now/HPI_orig x 0.85 - UPB, >= 50,000 (heloc.yaml).
    # Jan (growth 1.0): L1 7,250; L2 71,000; L3 25,000; L4 7,250; L5 113,500 -> {L2, L5}.
    # Feb (2000Q4 published 02-28: growth 1.5): L1 60,475; L2 156,100; L3 238,500 -> all.
    assert rows(result, "heloc equity") == [
        ("2001-01", "5", "2", "3", "1"),
        ("2001-02", "3", "3", "2", "2"),
        ("2001-03", "2", "2", "1", "1"),
        ("pooled", "10", "7", "6", "4"),
    ]


def test_outputs_table_page_and_thresholds_from_configuration(result, capsys):
    page = (result / "refinance.html").read_text()
    assert page.count("<svg") == 3 and "<script" not in page
    assert "rate_spread_bps &gt;= 75" in page and "available_equity &gt;= 50000" in page
    doc = json.loads((result / "refinance.json").read_text())
    assert [s["name"] for s in doc["signals"]] == [
        "refinance trigger", "refinance trigger+eligibility", "heloc equity"]
    assert doc["loans_replayed"] == 5 and not list(result.glob("*.tmp"))


def test_conditions_compile_through_the_dbt_macros():
    refinance = load_campaigns()["refinance"]
    sql = condition_met_sql(refinance.trigger[0].model_dump(mode="json"))
    assert sql == ('coalesce(((("current_upb" >= 400000) and ("rate_spread_bps" >= 50)) or '
                   '(("current_upb" < 400000) and ("rate_spread_bps" >= 75))), false)')
    assert project_vars()["max_cltv"] == 0.85


def test_bad_arguments_and_missing_files_are_refused(tmp_path, capsys):
    assert main(["backtest", "--from", "2001-13", "--to", "2001-03", "--input",
                 str(tmp_path)]) == 2
    assert "'2001-13' is not a month like" in capsys.readouterr().err
    assert main(["backtest", "--from", "2001-03", "--to", "2001-01", "--input",
                 str(tmp_path)]) == 2
    assert "before --from" in capsys.readouterr().err
    assert main(["backtest", "--campaign", "nope", "--from", "2001-01", "--to", "2001-01",
                 "--input", str(tmp_path)]) == 2
    assert "no campaign 'nope'" in capsys.readouterr().err
    assert main(["backtest", "--from", "2001-01", "--to", "2001-01", "--input",
                 str(tmp_path)]) == 2
    assert "no Performance_*.txt in" in capsys.readouterr().err
