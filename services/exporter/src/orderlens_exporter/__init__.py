"""orderlens exporter service."""
