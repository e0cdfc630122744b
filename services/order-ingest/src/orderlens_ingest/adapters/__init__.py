"""order-ingest's adapters: the MongoDB store (`mongo_store`), the Kafka broker and batch consumer
(`kafka_consumer`; dead letters are published by `orderlens.consumer`)."""
