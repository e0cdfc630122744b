"""The use cases: order reads, stats, actions, exports, buyer pages, inbox, webhooks."""
