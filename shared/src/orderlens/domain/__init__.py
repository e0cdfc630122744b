"""The domain: statuses and their rules, money, the stored order read model."""
