"""The pure parts of `make bench`: statistics, ratios, targets, the summary, profile parsing."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.__main__ import last_json, parse_ingest_throughput, parse_scales
from bench.profile import (
    command_key,
    filter_shape,
    parse_collapsed,
    short_frame,
    summarize_collapsed,
    top_frames,
)
from bench.report import (
    Metric,
    Target,
    evaluate,
    fmt,
    fmt_stats,
    pairwise_ratios,
    percentile,
    render_markdown,
    summarize,
)

pytestmark = pytest.mark.unit


def test_summarize_median_and_spread() -> None:
    stats = summarize([10.0, 14.0, 12.0])
    assert stats is not None
    assert (stats.median, stats.low, stats.high, stats.n) == (12.0, 10.0, 14.0, 3)
    assert stats.spread == pytest.approx(4 / 12)


def test_summarize_even_count_and_non_finite() -> None:
    stats = summarize([1.0, 2.0, 3.0, 4.0, float("nan")])
    assert stats is not None
    assert stats.median == 2.5
    assert stats.n == 4
    assert summarize([]) is None
    assert summarize([float("nan")]) is None


def test_ratios_are_taken_per_repeat() -> None:
    # Repeat 2 ran on a slower machine for both: the pairwise ratio stays put.
    assert pairwise_ratios([80.0, 40.0], [100.0, 50.0]) == [0.8, 0.8]
    assert pairwise_ratios([1.0, 2.0], [0.0, 4.0]) == [0.5]
    metric = Metric("x", "x", "u", True, service=[80.0, 40.0, 90.0], baseline=[100.0, 50.0, 100.0])
    ratio = metric.ratio_stats()
    assert ratio is not None
    assert ratio.median == pytest.approx(0.8)
    assert ratio.high == pytest.approx(0.9)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([5.0, 1.0], 50) == 1.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


@pytest.mark.parametrize(
    ("kind", "threshold", "service", "baseline", "met"),
    [
        ("ratio_at_least", 0.8, [81.0], [100.0], True),
        ("ratio_at_least", 0.8, [79.0], [100.0], False),
        ("ratio_at_most", 1.5, [15.0], [10.0], True),
        ("ratio_at_most", 1.5, [16.0], [10.0], False),
        ("value_at_most", 0, [0.0, 0.0, 0.0], [], True),
        ("value_at_most", 0, [0.0, 2.0, 3.0], [], False),
        ("value_at_least", 10, [9.0], [], False),
    ],
)
def test_targets(
    kind: Any, threshold: float, service: list[float], baseline: list[float], met: bool
) -> None:
    metric = Metric("m", "m", "u", True, service=service, baseline=baseline).as_dict()
    [judged] = evaluate([Target("t", "m", kind, threshold)], [metric])
    assert judged["met"] is met


def test_target_not_measured() -> None:
    [judged] = evaluate([Target("t", "missing", "ratio_at_least", 0.8)], [])
    assert judged["met"] is None
    assert judged["value"] is None
    empty = Metric("m", "m", "u", True, service=[1.0]).as_dict()
    [judged] = evaluate([Target("t", "m", "ratio_at_least", 0.8)], [empty])
    assert judged["met"] is None


def test_formatting() -> None:
    assert fmt(1234.5) == "1,234"
    assert fmt(12.345) == "12.3"
    assert fmt(1.2345) == "1.23"
    assert fmt(0.01234) == "0.0123"
    assert fmt(0) == "0"
    assert fmt(None) == "–"
    assert fmt(math.inf) == "–"
    assert fmt_stats({"median": 5.0, "min": 4.0, "max": 6.0, "n": 3}) == "5.00 (4.00–6.00)"
    assert fmt_stats({"median": 5.0, "min": 5.0, "max": 5.0, "n": 1}) == "5.00"
    assert fmt_stats(None) == "–"


def sample_run() -> dict[str, Any]:
    metric = Metric(
        "orders_per_s", "orders/s", "orders/s", True, service=[80.0, 90.0], baseline=[100.0, 100.0]
    ).as_dict()
    return {
        "date": "2026-11-23",
        "command": "uv run python -m bench --scale 0.01",
        "duration_seconds": 600.0,
        "options": {"repeat": 2},
        "machine": {"cpus": 2, "load_before": "1.0", "load_after": "2.0", "python": "3.11"},
        "notes": ["Small sizes: FerretDB."],
        "areas": {
            "ingest": {
                "title": "1. Ingest",
                "scale": 0.01,
                "status": "ok",
                "seconds": 300.0,
                "sizes": {"run": "2,000 orders", "issue": "200,000 orders"},
                "notes": ["a note"],
                "errors": [],
                "metrics": [metric],
                "targets": evaluate(
                    [Target("≥ 80% of the baseline", "orders_per_s", "ratio_at_least", 0.8)],
                    [metric],
                ),
                "profile": {
                    "tool": "py-spy",
                    "what": "the service",
                    "samples": 1000,
                    "top_own": [{"frame": "f (a.py:1)", "own_share": 0.5, "total_share": 0.9}],
                    "db_commands": [
                        {
                            "command": "find db.orders {_id}",
                            "calls": 3,
                            "seconds": 1.5,
                            "mean_ms": 500.0,
                        },
                    ],
                    "notes": [],
                },
            },
            "query": {"title": "2. Query", "status": "failed", "errors": ["boom"], "targets": []},
        },
    }


def test_markdown_summary() -> None:
    text = render_markdown(sample_run())
    assert text.startswith("# orderlens benchmarks — 2026-11-23\n")
    assert "`uv run python -m bench --scale 0.01`" in text
    assert "Wall time of the whole run: 10.0 min" in text
    assert "> Small sizes: FerretDB." in text
    assert "| ingest | ≥ 80% of the baseline | 0.85× | ✅ met |" in text
    assert "| query | – | failed | – not measured |" in text
    assert "| ingest | 0.01 | 2,000 orders | 200,000 orders |" in text
    assert "| orders/s | 85.0 (80.0–90.0) | 100 | 0.85× (0.80×–0.90×) |" in text
    assert "Compared: service against raw baseline." in text
    assert "| 1 | `f (a.py:1)` | 50.0% | 90.0% |" in text
    assert "| `find db.orders {_id}` | 3 | 1.50 | 500 |" in text
    assert "Error: `boom`" in text


def test_collapsed_stacks_with_subprocesses() -> None:
    lines = [
        'process 10:"python -m orderlens_query";main (/x/site-packages/uvicorn/main.py:1);'
        "handle (/repo/services/query-api/src/orderlens_query/app.py:5) 30",
        'process 10:"python -m orderlens_query";main (/x/site-packages/uvicorn/main.py:1) 10',
        "run (bench/query_saturation.py:3);thread (0x7f00);send (/x/site-packages/httpx/a.py:9) 50",
        'process 1:"python a.py";process 2:"python /r/bench/x.py --child csv --rows 5";'
        "send (/x/site-packages/httpx/a.py:9) 10",
        'process 1:"python a.py" 4',
        "garbage",
        "main (a.py:1);_find_and_load (<frozen importlib._bootstrap>:1) 7",
        "main (a.py:1);EpollSelector.select (selectors.py:468) 3",
    ]
    found = parse_collapsed(lines)
    assert found.samples == 100
    assert found.skipped == {"imports": 7, "waiting": 3}
    assert found.own["handle (orderlens_query/app.py:5)"] == 30
    assert found.total["main (uvicorn/main.py:1)"] == 40
    assert found.processes == {
        "-m orderlens_query": 40,
        "this process": 50,
        "/r/bench/x.py --child csv": 10,
    }
    top = top_frames(found.own, found.total, found.samples, limit=2)
    assert [t["frame"] for t in top] == ["send (httpx/a.py:9)", "handle (orderlens_query/app.py:5)"]
    assert top[0]["own_share"] == 0.6
    summary = summarize_collapsed(found, rate=50, limit=3)
    assert summary["samples"] == 100
    assert set(summary["by_process"]) == {"-m orderlens_query", "this process"}
    assert summary["by_process"]["-m orderlens_query"][0] == {
        "frame": "handle (orderlens_query/app.py:5)",
        "own_share": 0.75,
        "total_share": 0.75,
    }
    assert "module imports (6% of the samples)" in summary["notes"][0]


def test_short_frame_keeps_unparseable_frames() -> None:
    assert short_frame("<module> (<string>:8)") == "<module> (<string>:8)"
    assert short_frame("odd frame") == "odd frame"


def test_filter_shapes_and_command_keys() -> None:
    assert filter_shape({"_id": {"$in": [1, 2]}, "created_at": {"$gte": 1, "$lte": 2}}) == (
        "_id:$in,created_at:$gte/$lte"
    )
    assert filter_shape({"_id": "x"}) == "_id"
    command = {"find": "orders", "filter": {"address_key": {"$in": ["a"]}}}
    assert command_key("find", "bench_ingest_1a2b3c4d", command) == (
        "find bench_ingest_*.orders {address_key:$in}"
    )
    update = {"update": "orders", "updates": [{"q": {"_id": "1"}, "u": {}}]}
    assert command_key("update", "bench_raw_deadbeef", update) == "update bench_raw_*.orders {_id}"


def test_scales() -> None:
    assert parse_scales("0.05") == {
        "ingest": 0.05,
        "query": 0.05,
        "export": 0.05,
        "tracker": 0.05,
        "console": 0.05,
        "connector": 0.05,
        "webhooks": 0.05,
    }
    scales = parse_scales("0.05,export=1")
    assert scales["export"] == 1.0
    assert scales["ingest"] == 0.05
    assert parse_scales("tracker=0.5")["tracker"] == 0.5
    with pytest.raises(ValueError, match="unknown area"):
        parse_scales("nope=1")
    with pytest.raises(ValueError, match="positive"):
        parse_scales("0")


def test_script_outputs() -> None:
    out = (
        "order-ingest :     12.5 orders/s      80.1 events/s\n"
        "raw baseline :    100.0 orders/s     640.0 events/s\n"
        "ratio        : order-ingest runs at 12% of the baseline's rate\n"
    )
    parsed = parse_ingest_throughput(out)
    assert parsed["service"] == {"orders_per_s": 12.5, "events_per_s": 80.1}
    assert parsed["baseline"]["orders_per_s"] == 100.0
    with pytest.raises(ValueError, match="no result lines"):
        parse_ingest_throughput("nothing")
    with_cpu = parse_ingest_throughput(
        out + "cpu order-ingest: python 4.30 s  database server 2.31 s\n"
        "cpu raw baseline: python 1.12 s  database server n/a s\n"
    )
    assert with_cpu["service"]["python_cpu_s"] == 4.30
    assert with_cpu["service"]["server_cpu_s"] == 2.31
    assert with_cpu["baseline"]["python_cpu_s"] == 1.12
    assert "server_cpu_s" not in with_cpu["baseline"]
    assert last_json('{\n  "a": 1\n}\n') == {"a": 1}
    assert last_json('text\n{"b": 2}\n') == {"b": 2}


def test_a_ratio_target_with_slack_is_judged_on_service_minus_slack_over_baseline() -> None:
    from bench.report import Metric, Target, evaluate

    metric = Metric("p50 q", "p50 — q", "ms", False, service=[17.0, 40.0], baseline=[10.0, 30.0])
    target = Target("p50 ≤ 1.2× + 5 ms", "p50 q", "ratio_at_most", 1.2, slack=5.0)
    (judged,) = evaluate([target], [metric.as_dict()])
    # (17 − 5) / 10 = 1.2 and (40 − 5) / 30 ≈ 1.17: median 1.183, met; without slack 1.52.
    assert abs(judged["value"] - (1.2 + 35 / 30) / 2) < 1e-9
    assert judged["met"] is True
    (plain,) = evaluate([Target("p50 ≤ 1.2×", "p50 q", "ratio_at_most", 1.2)], [metric.as_dict()])
    assert plain["met"] is False
