"""Entrypoints: HTTP routes (webhooks, health) turning requests into service calls."""
