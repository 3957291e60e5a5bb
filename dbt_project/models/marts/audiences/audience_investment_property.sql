-- The investment_property campaign's audience per night; its rules are in assets/campaigns/investment_property.yaml.
{{ xsell.campaign_audience('investment_property') }}
