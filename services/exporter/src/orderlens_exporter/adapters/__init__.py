"""MongoDB repositories, the Kafka publisher, the export file writers."""
