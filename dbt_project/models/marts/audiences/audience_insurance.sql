-- The insurance campaign's audience per night; its rules are in assets/campaigns/insurance.yaml.
{{ xsell.campaign_audience('insurance') }}
