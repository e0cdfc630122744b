"""Adapters: the TikTok Shop API client, its rate limiter."""
