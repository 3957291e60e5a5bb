select distinct
    borrower_id,
    lower(product) as product,
    cast(converted_at as date) as converted_at,
    campaign_id,
    cast(revenue as decimal(18, 2)) as revenue
from {{ xsell.accepted_rows('conversions') }} as arrived_conversions
