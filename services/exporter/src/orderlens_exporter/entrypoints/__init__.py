"""Subscribers and loops that turn a message or a tick into use-case calls."""
