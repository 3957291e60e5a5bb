select distinct
    phone,
    lower(list_name) as list_name,
    cast(added_at as date) as added_at
from {{ xsell.accepted_rows('dnc_numbers') }} as arrived_dnc_numbers
