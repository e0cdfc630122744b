"""The use cases: taking order events in, polling carriers."""
