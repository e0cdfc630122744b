"""Entrypoints: HTTP routes that turn a request into one use-case call."""
