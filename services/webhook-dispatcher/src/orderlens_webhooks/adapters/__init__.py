"""MongoDB repositories, the HTTP sender and the metrics of the webhook dispatcher."""
