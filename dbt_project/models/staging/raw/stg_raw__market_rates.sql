-- A rate is known from its published_on, or from its rate_date where the feed gives none.
select distinct
    cast(rate_date as date) as rate_date,
    lower(product) as product,
    cast(rate as decimal(18, 8)) as rate,
    cast(apr as decimal(18, 8)) as apr,
    coalesce(cast(published_on as date), cast(rate_date as date)) as known_on
from {{ xsell.accepted_rows('market_rates') }} as arrived_market_rates
