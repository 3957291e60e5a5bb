"""Borrowers and loan officers: fake names, example.com e-mail, +1555 phones, mailing addresses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .geography import MARKETS, STREET_SUFFIXES, STREETS, market_series, market_weights
from .schema import conform

# fmt: off
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Sandra", "Mark", "Margaret", "Donald", "Ashley", "Steven", "Kimberly", "Andrew", "Emily",
    "Paul", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason",
    "Sharon", "Edward", "Laura", "Jeffrey", "Cynthia", "Ryan", "Dorothy", "Jacob", "Amy", "Gary",
    "Kathleen", "Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Emma", "Stephen", "Brenda",
    "Larry", "Pamela", "Justin", "Nicole", "Scott", "Anna", "Brandon", "Samantha", "Benjamin",
    "Katherine", "Samuel", "Christine", "Gregory", "Debra", "Alexander", "Rachel", "Patrick",
    "Carolyn", "Frank", "Janet", "Raymond", "Maria", "Jack", "Olivia", "Dennis", "Heather",
    "Jerry", "Helen", "Tyler", "Catherine", "Aaron", "Diane", "Jose", "Julie", "Adam", "Victoria",
    "Nathan", "Joyce", "Henry", "Lauren", "Zachary", "Kelly", "Wei", "Priya", "Mohammed", "Aisha",
    "Hiroshi", "Mei", "Carlos", "Lucia", "Dmitri", "Ngozi",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner",
    "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales",
    "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey",
    "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks",
    "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "O'Brien",
    "O'Neil", "Chen", "Wang", "Singh", "Okafor", "Tanaka", "Kowalski", "Novak", "Schmidt",
    "Rossi", "Haddad", "Cohen", "Larsen", "Dubois", "Silva",
)
# fmt: on


def phone_numbers(numbers: np.ndarray) -> pl.Series:
    """Distinct fictional +1555 numbers: multiplying by a unit mod 10^7 is a bijection."""
    local = (np.asarray(numbers, dtype=np.int64) * 3_141_593 + 2_718_281) % 10_000_000
    return "+1555" + pl.Series(local).cast(pl.String).str.zfill(7)


# Number ranges fed to phone_numbers, kept apart so borrowers (up to 8 million), planted
# cases, officers and unrelated DNC entries never share a phone.
PHONE_BLOCK_SCENARIO = 8_000_000
PHONE_BLOCK_OTHER_DNC = 8_500_000
PHONE_BLOCK_OFFICER = 9_500_000


def pick(rng: np.random.Generator, values: tuple[str, ...], size: int) -> pl.Series:
    return pl.Series(values).gather(pl.Series(rng.integers(0, len(values), size)))


def email_local_part(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        first.str.to_lowercase().str.replace_all("'", ""),
        pl.lit("."),
        last.str.to_lowercase().str.replace_all("'", ""),
    )


@dataclass(frozen=True)
class BorrowerBook:
    """Random borrowers plus what the loan and consent generators need about them."""

    frame: pl.DataFrame
    home_market: np.ndarray  # market number per borrower
    is_investor: np.ndarray  # bool (a null flag counts as not investing)
    has_email: np.ndarray
    has_phone: np.ndarray


def loans_per_borrower(rng: np.random.Generator, loans: int) -> np.ndarray:
    """Loans held by each borrower, 1 to 3, averaging 1.3, summing to `loans`."""
    if loans == 0:
        return np.zeros(0, dtype=np.int64)
    counts = rng.choice([1, 2, 3], size=int(loans / 1.25) + 10, p=[0.8, 0.1, 0.1])
    total = np.cumsum(counts)
    borrowers = int(np.searchsorted(total, loans)) + 1
    counts = counts[:borrowers].copy()
    counts[-1] -= total[borrowers - 1] - loans
    return counts


def random_borrowers(rng: np.random.Generator, count: int) -> BorrowerBook:
    """Borrowers B0000001 onward, each living in one market, most reachable by e-mail."""
    numbers = np.arange(1, count + 1)
    home = rng.choice(len(MARKETS), size=count, p=market_weights())
    investor_roll = rng.random(count)
    is_investor = investor_roll < 0.06
    has_email = rng.random(count) >= 0.03
    has_phone = rng.random(count) >= 0.05
    has_address = rng.random(count) >= 0.01
    zone_known = rng.random(count) < 0.4  # the rest is derived downstream from the state
    income = np.round(rng.lognormal(np.log(115_000), 0.5, count), -2)
    income_known = rng.random(count) >= 0.04
    unit = rng.integers(1, 40, count)
    has_unit = rng.random(count) < 0.12
    frame = pl.DataFrame(
        {
            "number": numbers,
            "first_name": pick(rng, FIRST_NAMES, count),
            "last_name": pick(rng, LAST_NAMES, count),
            "house": rng.integers(10, 9990, count),
            "street": pick(rng, STREETS, count),
            "suffix": pick(rng, STREET_SUFFIXES, count),
            "unit": unit,
            "has_unit": has_unit,
            "city": market_series("city", home),
            "state": market_series("state", home),
            "zip3": market_series("zip3", home),
            "zip_tail": rng.integers(1, 100, count),
            "zone": market_series("time_zone", home),
            "phone_number": phone_numbers(numbers),
        }
    )
    address_cols = ("mailing_address", "mailing_city", "mailing_state", "mailing_zip")
    frame = frame.with_columns(
        borrower_id=pl.format("B{}", pl.col("number").cast(pl.String).str.zfill(7)),
        email=pl.when(pl.Series(has_email)).then(
            pl.concat_str(
                email_local_part(pl.col("first_name"), pl.col("last_name")),
                pl.lit("."),
                pl.col("number").cast(pl.String),
                pl.lit("@example.com"),
            )
        ),
        phone=pl.when(pl.Series(has_phone)).then(pl.col("phone_number")),
        # Some addresses carry a unit after a comma, so CSV quoting is exercised.
        mailing_address=pl.concat_str(
            pl.col("house").cast(pl.String),
            pl.lit(" "),
            pl.col("street"),
            pl.lit(" "),
            pl.col("suffix"),
            pl.when(pl.col("has_unit"))
            .then(pl.format(", Apt {}", pl.col("unit").cast(pl.String)))
            .otherwise(pl.lit("")),
        ),
        mailing_city=pl.col("city"),
        mailing_state=pl.col("state"),
        mailing_zip=pl.concat_str(pl.col("zip3"), pl.col("zip_tail").cast(pl.String).str.zfill(2)),
        timezone=pl.when(pl.Series(zone_known)).then(pl.col("zone")),
        is_investor=pl.when(pl.Series(investor_roll < 0.90)).then(pl.Series(is_investor)),
        annual_income=pl.when(pl.Series(income_known)).then(pl.Series(income)),
    ).with_columns([pl.when(pl.Series(has_address)).then(pl.col(c)).alias(c) for c in address_cols])
    return BorrowerBook(conform("borrowers", frame), home, is_investor, has_email, has_phone)


def loan_officers(rng: np.random.Generator, count: int) -> pl.DataFrame:
    """Officers LO00001 onward, each with a distinct NMLS id."""
    numbers = np.arange(1, count + 1)
    nmls = 100_000 + rng.choice(2_400_000, size=count, replace=False)
    frame = pl.DataFrame(
        {
            "number": numbers,
            "first_name": pick(rng, FIRST_NAMES, count),
            "last_name": pick(rng, LAST_NAMES, count),
            "nmls": nmls,
            "phone": phone_numbers(PHONE_BLOCK_OFFICER + numbers),
            "has_phone": rng.random(count) >= 0.1,
        }
    )
    frame = frame.with_columns(
        loan_officer_id=pl.format("LO{}", pl.col("number").cast(pl.String).str.zfill(5)),
        name=pl.concat_str(pl.col("first_name"), pl.lit(" "), pl.col("last_name")),
        email=pl.concat_str(
            email_local_part(pl.col("first_name"), pl.col("last_name")),
            pl.lit(".lo"),
            pl.col("number").cast(pl.String),
            pl.lit("@example.com"),
        ),
        phone=pl.when(pl.col("has_phone")).then(pl.col("phone")),
        nmls_id=pl.col("nmls").cast(pl.String),
    )
    return conform("loan_officers", frame)
