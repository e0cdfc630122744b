"""A TikTok Shop Partner API simulator: OAuth tokens, authorized shops, Order and Fulfillment
API 202309, signature checks, rate limits, orders that progress, signed webhooks (decision 0092)."""
