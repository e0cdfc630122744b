"""orderlens console: the sellers' web console, a client of query-api (docs/decisions/0100)."""
