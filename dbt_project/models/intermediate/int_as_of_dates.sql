-- The nights this invocation builds, one row per as_of date.
select cast(day as date) as as_of_date
from ({{ xsell.day_series(xsell.min_as_of(), xsell.max_as_of()) }}) as days
