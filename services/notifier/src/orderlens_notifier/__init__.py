"""orderlens notifier: the seller inbox and the buyer's shipping mails (docs/contract.md §5.7)."""
