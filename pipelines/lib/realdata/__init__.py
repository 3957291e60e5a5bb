"""Read real public mortgage-market files as published and map them to the landing zone.

One module per publisher layout: pmms (Freddie Mac PMMS, FRED), apor (FFIEC APOR),
fhfa_hpi (FHFA house price indexes), crosswalk (ZIP -> county -> CBSA, time zone),
geography (fills a loan's CBSA and a borrower's time zone from ZIP or county),
fannie_mae (loan performance data) and landing (writes the INPUTS.md files). Every
parser refuses a malformed file with RealDataFormatError naming file, line and reason.
"""

from ._reader import RealDataFormatError
from .apor import attach_apor_apr, read_apor_table
from .crosswalk import (
    load_zip_geography,
    read_county_cbsa,
    read_zip_county,
    read_zip_timezones,
    zip_geography,
    zip_main_county,
)
from .fannie_mae import (
    fannie_loans,
    read_acquisition,
    read_performance,
    read_servicing_history,
    servicing_known_by,
    synthetic_borrowers,
)
from .fhfa_hpi import (
    hpi_published_on,
    landing_hpi,
    read_hpi_metro,
    read_hpi_po_state,
    read_hpi_state,
    read_hpi_us_and_census,
    read_hpi_zip3_quarterly,
)
from .geography import (
    by_zip3,
    enrich_borrowers,
    enrich_loans,
    package_zip_timezones,
    zip_cbsa,
)
from .landing import build_landing_zone, real_hpi, real_market_rates
from .pmms import pmms_market_rates, read_fred_series, read_pmms_history

__all__ = [
    "RealDataFormatError",
    "attach_apor_apr",
    "build_landing_zone",
    "by_zip3",
    "enrich_borrowers",
    "enrich_loans",
    "fannie_loans",
    "hpi_published_on",
    "landing_hpi",
    "load_zip_geography",
    "package_zip_timezones",
    "pmms_market_rates",
    "read_acquisition",
    "read_apor_table",
    "read_county_cbsa",
    "read_fred_series",
    "read_hpi_metro",
    "read_hpi_po_state",
    "read_hpi_state",
    "read_hpi_us_and_census",
    "read_hpi_zip3_quarterly",
    "read_performance",
    "read_pmms_history",
    "read_servicing_history",
    "read_zip_county",
    "read_zip_timezones",
    "real_hpi",
    "real_market_rates",
    "servicing_known_by",
    "synthetic_borrowers",
    "zip_cbsa",
    "zip_geography",
    "zip_main_county",
]
