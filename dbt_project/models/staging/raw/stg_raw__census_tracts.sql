select
    census_tract,
    cast(minority_pct as decimal(5, 2)) as minority_pct,
    lower(tract_income_level) as tract_income_level
from {{ xsell.current_rows(xsell.accepted_rows('census_tracts'), 'census_tract') }} as current_census_tracts
