-- A value is known from its published_on, or from its period_start where the file gives none.
select distinct
    lower(geo_level) as geo_level,
    upper(geo_code) as geo_code,
    cast(period_start as date) as period_start,
    cast(index_value as double) as index_value,
    coalesce(cast(published_on as date), cast(period_start as date)) as known_on
from {{ xsell.accepted_rows('hpi') }} as arrived_hpi
