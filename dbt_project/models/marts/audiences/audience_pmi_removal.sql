-- The pmi_removal campaign's audience per night; its rules are in assets/campaigns/pmi_removal.yaml.
{{ xsell.campaign_audience('pmi_removal') }}
