"""Response and request bodies of the HTTP API (the OpenAPI schemas)."""
