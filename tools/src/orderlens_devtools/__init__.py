"""Development tooling for orderlens: the local server stack, the seed generator, the simulators
and the `orderlens` developer CLI. A workspace package of its own so that no production image
installs it (docs/architecture.md)."""
