"""webhook-dispatcher: outgoing, signed CloudEvent webhooks (docs/contract.md §3.7)."""
