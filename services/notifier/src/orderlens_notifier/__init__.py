"""orderlens-notifier: outgoing webhooks (docs/contract.md §3.1; decision 0121)."""
