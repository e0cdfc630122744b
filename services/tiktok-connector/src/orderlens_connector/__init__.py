"""tiktok-connector: TikTok Shop orders in (webhooks, signed API, backfill), seller actions out."""
