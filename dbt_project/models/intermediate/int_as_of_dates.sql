-- The nights this invocation builds, one row per as_of date.
select distinct cast(as_of_date as date) as as_of_date
from {{ source('ops', 'build_nights') }}
