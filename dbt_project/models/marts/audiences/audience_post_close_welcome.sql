-- The post_close_welcome campaign's audience per night; its rules are in assets/campaigns/post_close_welcome.yaml.
{{ xsell.campaign_audience('post_close_welcome') }}
