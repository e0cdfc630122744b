"""order-ingest's domain: pure functions from received events to the stored order."""
