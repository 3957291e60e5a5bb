-- The financial_planning campaign's audience per night; its rules are in assets/campaigns/financial_planning.yaml.
{{ xsell.campaign_audience('financial_planning') }}
