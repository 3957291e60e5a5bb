"""Nights are daily partitions keyed by as_of: the partition for D is run after D has ended."""

import dagster as dg

# end_offset=1: today's partition exists too, for a lender who runs a night early to test.
nightly = dg.DailyPartitionsDefinition(start_date="2000-01-01", timezone="UTC", end_offset=1)
