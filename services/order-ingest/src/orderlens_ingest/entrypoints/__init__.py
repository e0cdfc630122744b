"""order-ingest's entrypoints: the Kafka batch subscriber (`consumers`)."""
