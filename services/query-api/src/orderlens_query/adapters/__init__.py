"""Adapters: MongoDB collections and Kafka publishing."""
