"""Map Fannie Mae's legacy loan performance files to loans, test borrowers and servicing history.

Layout (shared/realdata/fannie_mae_sflp_2000Q1_subset/README.md): pipe-delimited, no
header. The acquisition file has Fannie's 25 legacy fields, plus in this subset a 26th
acquisition-period tag that is ignored; the performance file has 31 fields, writes the
literal `NULL` for missing text, and is sorted by the *text* of the date, so rows are
re-sorted by the parsed month.

Mapping choices (Fannie codes -> INPUTS.md values):
- purpose P/R/C -> purchase / rate_term_refi / cash_out_refi (U -> null);
  occupancy P/S/I -> primary / second_home / investment (U -> null);
  property 2-4 units -> multi_2_4, else SF and PU (PUD) -> sfr, CO and CP (co-op) -> condo,
  MH -> manufactured; product FRM -> fixed, ARM -> arm.
- close_date = first day of the origination month, first_payment_date likewise.
- original_value = orig_upb / orig_ltv %, to the cent: Fannie publishes no value, and
  LTV is a whole percent, so this is approximate (within about 0.6 %).
- has_pmi = mortgage insurance coverage at acquisition > 0 (later cancellation unknown).
- property_cbsa = the last non-zero `msa` in the performance rows: a property's location
  does not change, though Fannie fills it in only after the first months.
- as of a date, a month's servicing row is known once that month has ended. The latest
  known row gives current_upb (null while Fannie masks it, so the pipeline amortizes)
  and servicing_status from months delinquent (0 current, 1 delinquent_30, 2+
  delinquent_60_plus). A row more than about two months old (the loan stopped
  reporting, or as_of is past the file's last month) tells nothing about today: both
  are then null. A loan with no known row is funded with both null too. Null
  servicing_status is unknown, which fails closed for credit offers.
- a zero balance is final: 01 -> paid_off; 02/03/09/15 (credit events) -> paid_off with
  servicing_status foreclosure, so the borrower is held from marketing; 06/16
  (repurchase, loan sale: the loan lives on outside the data) -> funded, status unknown.
Borrowers are synthetic and visibly fake, one per loan: `Test Borrower`,
`@example.invalid` email, a +1 555 phone number (area code 555 is never assigned).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date as Date
from pathlib import Path

import polars as pl

from ._reader import (
    RealDataFormatError,
    code,
    date,
    integer,
    num,
    read_rows,
    refuse_duplicates,
    text,
)

ACQUISITION_FIELDS = (
    "loan_id", "orig_channel", "seller_name", "orig_interest_rate", "orig_upb",
    "orig_loan_term", "orig_date", "first_pay_date", "orig_ltv", "orig_cltv",
    "num_borrowers", "dti", "borrower_credit_score", "first_home_buyer", "loan_purpose",
    "property_type", "num_units", "occupancy_status", "property_state", "zip3",
    "mortgage_insurance_percent", "product_type", "coborrower_credit_score",
    "mortgage_insurance_type", "relocation_mortgage_indicator", "acquisition_period",
)  # fmt: skip
PERFORMANCE_FIELDS = (
    "loan_id", "monthly_reporting_period", "servicer", "interest_rate", "current_actual_upb",
    "loan_age", "remaining_months_to_legal_maturity", "adj_remaining_months_to_maturity",
    "maturity_date", "msa", "current_loan_delinquency_status", "mod_flag", "zero_balance_code",
    "zero_balance_effective_date", "last_paid_installment_date", "foreclosed_after",
    "disposition_date", "foreclosure_costs", "prop_preservation_and_repair_costs",
    "asset_recovery_costs", "misc_holding_expenses", "holding_taxes", "net_sale_proceeds",
    "credit_enhancement_proceeds", "repurchase_make_whole_proceeds",
    "other_foreclosure_proceeds", "non_interest_bearing_upb", "principal_forgiveness_upb",
    "repurchase_make_whole_proceeds_flag", "foreclosure_principal_write_off_amount",
    "servicing_activity_indicator",
)  # fmt: skip

PURPOSE = {"P": "purchase", "R": "rate_term_refi", "C": "cash_out_refi"}
OCCUPANCY = {"P": "primary", "S": "second_home", "I": "investment"}
PROPERTY_TYPE = {"SF": "sfr", "PU": "sfr", "CO": "condo", "CP": "condo", "MH": "manufactured"}
RATE_TYPE = {"FRM": "fixed", "ARM": "arm"}
PAID_OFF_CODES = ["01"]
CREDIT_EVENT_CODES = ["02", "03", "09", "15"]
ZERO_BALANCE_CODES = "01|02|03|06|09|15|16"
NULL_TEXT = ("", "NULL")
SERVICING_SCHEMA = {
    "loan_id": pl.String,
    "reporting_month": pl.Date,
    "servicer": pl.String,
    "interest_rate": pl.Float64,
    "current_upb": pl.Float64,
    "loan_age": pl.Int64,
    "msa": pl.String,
    "delinquency_status": pl.Int64,
    "zero_balance_code": pl.String,
    "zero_balance_date": pl.Date,
}


def read_acquisition(path: Path) -> pl.DataFrame:
    """Legacy acquisition file -> one typed row per loan (Fannie field names; rates and
    LTV/DTI in percent, money in dollars, months as the first of the month)."""
    path = Path(path)
    _, raw = read_rows(path, ACQUISITION_FIELDS, sep="|", quoted=False, field_counts={25, 26})
    # Either layout is fine, but not both in one file: a row short of its neighbours is cut.
    odd = raw.filter(pl.col("n_fields") != raw["n_fields"][0])
    if odd.height:
        raise RealDataFormatError(
            path, odd["line"][0], f"{odd['n_fields'][0]} fields, line 1 has {raw['n_fields'][0]}"
        )
    opt = {"required": False}
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "loan_id", path, r"\d{12}"),
            code(raw, "orig_channel", path, "[RCBT]"),
            text(raw, "seller_name"),
            num(raw, "orig_interest_rate", path),
            num(raw, "orig_upb", path),
            integer(raw, "orig_loan_term", path),
            date(raw, "orig_date", path, "%m/%Y"),
            date(raw, "first_pay_date", path, "%m/%Y"),
            num(raw, "orig_ltv", path),
            num(raw, "orig_cltv", path, **opt),
            integer(raw, "num_borrowers", path, **opt),
            num(raw, "dti", path, **opt),
            integer(raw, "borrower_credit_score", path, **opt),
            code(raw, "first_home_buyer", path, "[YNU]", **opt),
            code(raw, "loan_purpose", path, "[PRCU]"),
            code(raw, "property_type", path, "SF|PU|CO|CP|MH"),
            integer(raw, "num_units", path),
            code(raw, "occupancy_status", path, "[PSIU]"),
            code(raw, "property_state", path, "[A-Z]{2}"),
            code(raw, "zip3", path, r"\d{3}"),
            num(raw, "mortgage_insurance_percent", path, **opt),
            code(raw, "product_type", path, "FRM|ARM"),
            integer(raw, "coborrower_credit_score", path, **opt),
            code(raw, "mortgage_insurance_type", path, "[123]", **opt),
            code(raw, "relocation_mortgage_indicator", path, "[YN]", **opt),
        ]
    )
    refuse_duplicates(frame, path, ["loan_id"])
    return frame.drop("line")


def read_performance(path: Path) -> pl.DataFrame:
    """Legacy performance file -> servicing history, one row per loan and month, in month order:
    loan_id, reporting_month, servicer, interest_rate, current_upb (null while Fannie masks
    it), loan_age, msa (5-digit code, null for `0.0`), delinquency_status (months
    delinquent; null for `X` and the `-2` this subset writes on termination rows),
    zero_balance_code, zero_balance_date."""
    path = Path(path)
    _, raw = read_rows(path, PERFORMANCE_FIELDS, sep="|", quoted=False)
    frame = pl.DataFrame(
        [
            raw["line"],
            code(raw, "loan_id", path, r"\d{12}"),
            date(raw, "monthly_reporting_period", path, "%m/%d/%Y").alias("reporting_month"),
            text(raw, "servicer", missing=NULL_TEXT),
            num(raw, "interest_rate", path),
            num(raw, "current_actual_upb", path, required=False).alias("current_upb"),
            integer(raw, "loan_age", path),
            integer(raw, "msa", path, required=False),
            integer(
                raw,
                "current_loan_delinquency_status",
                path,
                missing=("", "X", "-2"),
                required=False,
            ).alias("delinquency_status"),
            code(
                raw,
                "zero_balance_code",
                path,
                ZERO_BALANCE_CODES,
                missing=NULL_TEXT,
                required=False,
            ),
            date(raw, "zero_balance_effective_date", path, "%m/%Y", required=False).alias(
                "zero_balance_date"
            ),
        ]
    )
    refuse_duplicates(frame, path, ["loan_id", "reporting_month"])
    return (
        frame.drop("line")
        .with_columns(
            msa=pl.when(pl.col("msa") > 0).then(pl.col("msa").cast(pl.String).str.zfill(5))
        )
        .sort("loan_id", "reporting_month")
    )


def servicing_known_by(servicing: pl.DataFrame, as_of: Date) -> pl.DataFrame:
    """Servicing rows known at as_of: a month's row is known once that month has ended."""
    return servicing.filter(pl.col("reporting_month").dt.month_end() <= as_of).sort(
        "loan_id", "reporting_month"
    )


def fannie_loans(acquisition: pl.DataFrame, servicing: pl.DataFrame, as_of: Date) -> pl.DataFrame:
    """Loans closed by as_of, in the INPUTS.md `loans` shape, their state as of that date."""
    fresh = pl.col("reporting_month").dt.offset_by("2mo") > as_of
    latest = (
        servicing_known_by(servicing, as_of)
        .group_by("loan_id", maintain_order=True)
        .last()
        .select(
            "loan_id",
            "zero_balance_code",
            "zero_balance_date",
            current_upb=pl.when(fresh).then("current_upb"),
            delinquency_status=pl.when(fresh).then("delinquency_status"),
        )
    )
    cbsa = (
        servicing.drop_nulls("msa")
        .group_by("loan_id")
        .agg(property_cbsa=pl.col("msa").sort_by("reporting_month").last())
    )
    zb = pl.col("zero_balance_code")
    ended = zb.is_in(PAID_OFF_CODES + CREDIT_EVENT_CODES)
    months_late = pl.col("delinquency_status")
    return (
        acquisition.filter(pl.col("orig_date") <= as_of)
        .join(latest, on="loan_id", how="left")
        .join(cbsa, on="loan_id", how="left")
        .select(
            "loan_id",
            borrower_id=pl.lit("B") + pl.col("loan_id"),
            loan_officer_id=pl.lit(None, pl.String),
            loan_purpose=pl.col("loan_purpose").replace_strict(PURPOSE, default=None),
            occupancy=pl.col("occupancy_status").replace_strict(OCCUPANCY, default=None),
            property_type=pl.when(pl.col("num_units") >= 2)
            .then(pl.lit("multi_2_4"))
            .otherwise(pl.col("property_type").replace_strict(PROPERTY_TYPE)),
            property_state="property_state",
            property_zip=pl.lit(None, pl.String),
            property_cbsa="property_cbsa",
            property_census_tract=pl.lit(None, pl.String),
            rate_type=pl.col("product_type").replace_strict(RATE_TYPE),
            term_months="orig_loan_term",
            note_rate="orig_interest_rate",
            original_amount="orig_upb",
            original_value=(pl.col("orig_upb") * 100 / pl.col("orig_ltv")).round(2),
            first_payment_date="first_pay_date",
            close_date="orig_date",
            current_upb=pl.when(ended).then(0.0).otherwise("current_upb"),
            status=pl.when(ended).then(pl.lit("paid_off")).otherwise(pl.lit("funded")),
            status_date=pl.when(ended).then("zero_balance_date").otherwise("orig_date"),
            servicing_status=pl.when(zb.is_in(CREDIT_EVENT_CODES))
            .then(pl.lit("foreclosure"))
            .when(zb.is_not_null())
            .then(None)
            .when(months_late == 0)
            .then(pl.lit("current"))
            .when(months_late == 1)
            .then(pl.lit("delinquent_30"))
            .when(months_late >= 2)
            .then(pl.lit("delinquent_60_plus")),
            credit_score="borrower_credit_score",
            has_pmi=pl.col("mortgage_insurance_percent").fill_null(0) > 0,
            next_rate_reset_date=pl.lit(None, pl.Date),
        )
        .sort("loan_id")
    )


def synthetic_borrowers(loans: pl.DataFrame, acquisition: pl.DataFrame) -> pl.DataFrame:
    """One visibly fake borrower per loan, in the INPUTS.md `borrowers` shape: no real
    person's name, address or number can come out of it."""
    occupancy = acquisition.select("loan_id", "occupancy_status")
    return (
        loans.select("loan_id", "borrower_id")
        .join(occupancy, on="loan_id", how="left")
        .select(
            "borrower_id",
            first_name=pl.lit("Test"),
            last_name=pl.lit("Borrower"),
            email=pl.lit("test.borrower.") + pl.col("loan_id") + pl.lit("@example.invalid"),
            phone=pl.lit("+1555") + pl.col("loan_id").str.slice(-7),
            mailing_address=pl.lit(None, pl.String),
            mailing_city=pl.lit(None, pl.String),
            mailing_state=pl.lit(None, pl.String),
            mailing_zip=pl.lit(None, pl.String),
            timezone=pl.lit(None, pl.String),
            # Declared investment occupancy makes an investor; anything else is unknown.
            is_investor=pl.when(pl.col("occupancy_status") == "I").then(True).otherwise(None),
            annual_income=pl.lit(None, pl.Float64),
        )
        .sort("borrower_id")
    )


def read_servicing_history(paths: Sequence[Path]) -> pl.DataFrame:
    """Several performance files as one history; a loan-month in two files is kept once."""
    frames = [read_performance(p) for p in sorted(paths)]
    if not frames:
        return pl.DataFrame(schema=SERVICING_SCHEMA)
    return (
        pl.concat(frames)
        .unique(["loan_id", "reporting_month"], keep="first")
        .sort("loan_id", "reporting_month")
    )
