"""Nights are daily partitions keyed by as_of: the partition for D is run after D has ended."""

import dagster as dg

nightly = dg.DailyPartitionsDefinition(start_date="2000-01-01", timezone="UTC")
