"""orderlens status-tracker service."""
