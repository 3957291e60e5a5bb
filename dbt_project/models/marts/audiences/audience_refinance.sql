-- The refinance campaign's audience per night; its rules are in assets/campaigns/refinance.yaml.
{{ xsell.campaign_audience('refinance') }}
