"""Errors raised by the local development stack."""

from __future__ import annotations


class DevStackError(RuntimeError):
    """A local server could not be provisioned, started, stopped or reached."""
