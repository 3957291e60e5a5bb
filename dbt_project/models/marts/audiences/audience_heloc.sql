-- The heloc campaign's audience per night; its rules are in assets/campaigns/heloc.yaml.
{{ xsell.campaign_audience('heloc') }}
