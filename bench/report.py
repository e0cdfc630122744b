"""The pure part of `make bench`: statistics over repeats, ratios, targets, and the summary.

Nothing here touches a server or a clock, so that `tests/unit/bench` can check it.

A run's results are one JSON document (`bench/results/<date>.json`)::

    {"date": "2026-11-23", "command": "...", "duration_seconds": 2400.0, "machine": {...},
     "options": {"repeat": 3, "scales": {"ingest": 0.01, ...}},
     "areas": {"ingest": {"status": "ok", "sizes": {...}, "notes": [...],
                          "metrics": [<metric>...], "targets": [<target>...],
                          "profile": {...} | null, "errors": [...]}, ...}}

A metric holds the raw values of every repeat, for the service and for its baseline measured
side by side in the same repeat, plus their statistics and the per-repeat ratios
(service / baseline).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TargetKind = Literal["ratio_at_least", "ratio_at_most", "value_at_least", "value_at_most"]


@dataclass(frozen=True)
class Stats:
    """Median and spread (min and max) of the values of repeated runs."""

    median: float
    low: float
    high: float
    n: int

    @property
    def spread(self) -> float:
        """(max - min) / median: how far apart the repeats were, relative to the median."""
        if self.median == 0:
            return 0.0
        return (self.high - self.low) / abs(self.median)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "n": self.n,
            "spread": round(self.spread, 4),
        }


def summarize(values: Sequence[float]) -> Stats | None:
    """Statistics of the finite values, or None when there are none."""
    kept = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not kept:
        return None
    return Stats(statistics.median(kept), min(kept), max(kept), len(kept))


def pairwise_ratios(service: Sequence[float], baseline: Sequence[float]) -> list[float]:
    """service[i] / baseline[i] for each repeat measured side by side (a zero baseline is
    skipped: no ratio can be given for it)."""
    return [s / b for s, b in zip(service, baseline, strict=False) if b]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of non-empty values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Metric:
    """One measured quantity of an area, over the repeats."""

    key: str
    label: str
    unit: str
    higher_is_better: bool
    service: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    service_name: str = "service"
    baseline_name: str = "raw baseline"

    def service_stats(self) -> Stats | None:
        return summarize(self.service)

    def baseline_stats(self) -> Stats | None:
        return summarize(self.baseline)

    def ratio_stats(self) -> Stats | None:
        return summarize(pairwise_ratios(self.service, self.baseline)) if self.baseline else None

    def as_dict(self) -> dict[str, Any]:
        def stats(s: Stats | None) -> dict[str, float | int] | None:
            return None if s is None else s.as_dict()

        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "service_name": self.service_name,
            "baseline_name": self.baseline_name,
            "service_values": self.service,
            "baseline_values": self.baseline,
            "service": stats(self.service_stats()),
            "baseline": stats(self.baseline_stats()),
            "ratio": stats(self.ratio_stats()),
        }


@dataclass(frozen=True)
class Target:
    """A goal of the issue, on one metric: its ratio to the baseline, or its own value."""

    description: str
    metric: str
    kind: TargetKind
    threshold: float
    #: For a ratio: what the service may take beyond `threshold` × the baseline ("p50 ≤ 1.2×
    #: the raw driver's + 5 ms": threshold 1.2, slack 5). Judged per repeat as
    #: (service − slack) ÷ baseline, then the median of those.
    slack: float = 0.0

    def measured(self, metric: Mapping[str, Any]) -> float | None:
        """The median the target is judged on (ratio or value), from a metric's dict."""
        if self.slack and self.kind.startswith("ratio"):
            adjusted = summarize(
                pairwise_ratios(
                    [v - self.slack for v in metric.get("service_values", [])],
                    metric.get("baseline_values", []),
                )
            )
            return None if adjusted is None else adjusted.median
        part = metric.get("ratio") if self.kind.startswith("ratio") else metric.get("service")
        if not part:
            return None
        return float(part["median"])

    def met(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.kind.endswith("at_least"):
            return value >= self.threshold
        return value <= self.threshold


def evaluate(
    targets: Sequence[Target], metrics: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each target with the median it is judged on and whether it is met (None: not measured)."""
    by_key = {m["key"]: m for m in metrics}
    judged = []
    for target in targets:
        metric = by_key.get(target.metric)
        value = target.measured(metric) if metric else None
        judged.append(
            {
                "description": target.description,
                "metric": target.metric,
                "kind": target.kind,
                "threshold": target.threshold,
                "slack": target.slack,
                "value": value,
                "met": target.met(value),
            }
        )
    return judged


# -- formatting -------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    """A number for a table: three significant digits at most, thousands separated."""
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude == 0:
        return "0"
    return f"{value:.3g}"


def fmt_stats(stats: Mapping[str, Any] | None, *, ratio: bool = False) -> str:
    """`median (min–max)`; a single value alone. Ratios as `0.85×`."""
    if not stats:
        return "–"

    def one(v: float) -> str:
        return f"{v:.2f}×" if ratio else fmt(v)

    if stats["n"] == 1 or stats["min"] == stats["max"]:
        return one(stats["median"])
    return f"{one(stats['median'])} ({one(stats['min'])}–{one(stats['max'])})"


def verdict(met: bool | None) -> str:
    return {True: "✅ met", False: "❌ not met", None: "– not measured"}[met]


def _target_measure(target: Mapping[str, Any]) -> str:
    value = target.get("value")
    if value is None:
        return "not measured"
    if str(target["kind"]).startswith("ratio"):
        slack = target.get("slack") or 0
        return f"{value:.2f}× (service − {slack:g} ms)" if slack else f"{value:.2f}×"
    return fmt(float(value))


def render_markdown(run: Mapping[str, Any]) -> str:
    """The human summary of a run (`bench/results/<date>.md`)."""
    lines: list[str] = []
    add = lines.append
    add(f"# orderlens benchmarks — {run['date']}")
    add("")
    machine = run.get("machine", {})
    options = run.get("options", {})
    add(f"Command: `{run.get('command', 'uv run python -m bench')}`  ")
    duration = run.get("duration_seconds")
    if duration is not None:
        add(f"Wall time of the whole run: {duration / 60:.1f} min  ")
    add(
        f"Repeats per measurement: {options.get('repeat', '?')}; figures are the median with "
        "the min–max over the repeats in brackets; ratios are taken per repeat (service and "
        "baseline measured side by side) and then summarised the same way.  "
    )
    if machine:
        add(
            f"Machine: {machine.get('cpus', '?')} CPUs, shared; load average "
            f"{machine.get('load_before', '?')} at the start and "
            f"{machine.get('load_after', '?')} at the end; Python {machine.get('python', '?')}; "
            f"{machine.get('servers', '')}"
        )
    for note in run.get("notes", []):
        add("")
        add(f"> {note}")
    add("")

    areas: Mapping[str, Mapping[str, Any]] = run.get("areas", {})
    add("## Targets")
    add("")
    add("| area | target | measured (median) | verdict |")
    add("|---|---|---|---|")
    for name, area in areas.items():
        if area.get("status") != "ok" and not area.get("targets"):
            add(f"| {name} | – | {area.get('status', '?')} | – not measured |")
        for target in area.get("targets", []):
            add(
                f"| {name} | {target['description']} | {_target_measure(target)} | "
                f"{verdict(target.get('met'))} |"
            )
    add("")

    add("## Sizes run")
    add("")
    add("| area | scale | what was run | the issue's size |")
    add("|---|---:|---|---|")
    for name, area in areas.items():
        sizes = area.get("sizes", {})
        add(
            f"| {name} | {area.get('scale', '–')} | {sizes.get('run', '–')} | "
            f"{sizes.get('issue', '–')} |"
        )
    add("")

    for name, area in areas.items():
        add(f"## {area.get('title', name)}")
        add("")
        add(
            f"Status: **{area.get('status', '?')}**"
            + (f"; {area['seconds'] / 60:.1f} min" if area.get("seconds") else "")
        )
        for note in area.get("notes", []):
            add("")
            add(note)
        for error in area.get("errors", []):
            add("")
            add(f"Error: `{error}`")
        metrics = area.get("metrics", [])
        if metrics:
            add("")
            add("| metric | service | baseline | service ÷ baseline |")
            add("|---|---:|---:|---:|")
            pairs: list[str] = []
            for metric in metrics:
                unit = metric.get("unit") or ""
                label = metric["label"]
                if unit and unit not in label:
                    label = f"{label} ({unit})"
                add(
                    f"| {label} | {fmt_stats(metric.get('service'))} | "
                    f"{fmt_stats(metric.get('baseline'))} | "
                    f"{fmt_stats(metric.get('ratio'), ratio=True)} |"
                )
                if metric.get("baseline"):
                    pair = f"{metric['service_name']} against {metric['baseline_name']}"
                    if pair not in pairs:
                        pairs.append(pair)
            if pairs:
                add("")
                add("Compared: " + "; ".join(pairs) + ".")
        profile = area.get("profile")
        if profile:
            add("")
            add(render_profile(profile))
        add("")
    return "\n".join(lines).rstrip() + "\n"


def render_profile(profile: Mapping[str, Any]) -> str:
    lines = [f"Profile ({profile.get('tool', '?')}): {profile.get('what', '')}"]
    if profile.get("error"):
        lines.append("")
        lines.append(f"Profiling failed: `{profile['error']}`")
        return "\n".join(lines)
    samples = profile.get("samples")
    if samples is not None:
        lines[0] += f" — {samples:,} samples"
    by_process: Mapping[str, Any] = profile.get("by_process") or {}
    tables = by_process or {"": profile.get("top_own", [])}
    for process, frames in tables.items():
        if not frames:
            continue
        lines.append("")
        if process:
            lines.append(f"Process `{process}`:")
            lines.append("")
        lines.append("| # | frame (own time) | own | total |")
        lines.append("|---:|---|---:|---:|")
        for i, frame in enumerate(frames, start=1):
            lines.append(
                f"| {i} | `{frame['frame']}` | {frame['own_share']:.1%} | "
                f"{frame['total_share']:.1%} |"
            )
    commands = profile.get("db_commands", [])
    if commands:
        lines.append("")
        lines.append("Database commands by total time (all clients of the profiled process):")
        lines.append("")
        lines.append("| command | calls | total (s) | mean (ms) |")
        lines.append("|---|---:|---:|---:|")
        for command in commands:
            lines.append(
                f"| `{command['command']}` | {command['calls']:,} | "
                f"{fmt(command['seconds'])} | {fmt(command['mean_ms'])} |"
            )
    for note in profile.get("notes", []):
        lines.append("")
        lines.append(note)
    return "\n".join(lines)
