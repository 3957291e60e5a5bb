-- One row per loan per night: the features every campaign and message reads (RULES.md).
-- Incremental by night: building a night replaces that night's rows and nothing else.
select *
from {{ ref('int_loan_features') }}
