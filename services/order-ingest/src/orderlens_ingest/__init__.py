"""orderlens order-ingest service."""
