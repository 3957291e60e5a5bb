-- The arm_reset campaign's audience per night; its rules are in assets/campaigns/arm_reset.yaml.
{{ xsell.campaign_audience('arm_reset') }}
