select distinct
    template_id,
    lower(template_sha256) as template_sha256,
    lower(status) as status,
    reviewed_by,
    {{ xsell.utc_timestamp('reviewed_at') }} as reviewed_at
from {{ xsell.accepted_rows('template_approvals') }} as arrived_template_approvals
