"""orderlens query-api service."""
