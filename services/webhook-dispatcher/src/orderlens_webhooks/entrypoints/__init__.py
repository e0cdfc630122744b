"""Kafka subscriber, health/metrics server and the command line of the dispatcher."""
