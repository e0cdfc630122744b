"""orderlens: the shared library of the orderlens services."""

__version__ = "0.1.0"
