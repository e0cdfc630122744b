"""orderlens benchmarks: `make bench` (= `uv run python -m bench`), see bench/README.md.

The orchestrator (`bench.__main__`) starts a dedicated local stack (`bench.stack`), runs each
area's benchmark script in a process of its own, repeats it, profiles the slowest path once
(`bench.profile`) and writes `bench/results/<date>.json` and `.md` (`bench.report`).
"""
