"""The export format (docs/contract.md §6): which columns, how a cell reads."""
