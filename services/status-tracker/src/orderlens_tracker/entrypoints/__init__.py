"""Kafka subscribers: a batch in, one use-case call out."""
