"""Profiling for `make bench`: py-spy over a benchmark and its child processes, and a count of the
database commands a process sends.

- `profile_command(...)` runs a command under `py-spy record --subprocesses` (the service
  processes a benchmark starts, such as query-api's uvicorn or the exporter's children, are
  sampled too), reads py-spy's collapsed stacks and answers the top frames by own time;
- `python -m bench.profile dbcalls --out FILE -- SCRIPT [ARGS...]` runs a Python script with a
  PyMongo command listener registered for every client it creates, and writes the commands by
  total time (name, collection, filter shape) to FILE: where an I/O-bound service, whose own
  frames are mostly idle, spends its time waiting.

When py-spy is missing or not allowed to trace (no ptrace), the command still runs and the
profile says why it is empty.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
_PROCESS = re.compile(r'^process (?P<pid>\d+):"(?P<cmd>.*)"$')
_RUN_SUFFIX = re.compile(r"[_-]?[0-9a-f]{8,}$")


def short_path(path: str) -> str:
    """A source path without the machine-specific prefix: `aiokafka/consumer/fetcher.py`,
    `orderlens_ingest/store.py`, `bench/query_latency.py`."""
    for marker in ("/site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            return path.rsplit(marker, 1)[1]
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return path.removeprefix(root)


def short_frame(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    where = short_path(match["file"])
    line = f":{match['line']}" if match["line"] else ""
    return f"{match['func']} ({where}{line})"


def short_process(command: str) -> str:
    """`python -m orderlens_query` / `bench/export_throughput.py --child exporter-xlsx`."""
    words = command.split()
    for i, word in enumerate(words):
        if word == "-m" and i + 1 < len(words):
            return " ".join(["-m", *words[i + 1 : i + 2]])
        if word.endswith(".py"):
            return " ".join([short_path(word), *words[i + 1 : i + 3]])
    return " ".join(words[:3])


def is_import(frames: Sequence[str]) -> bool:
    """A stack inside module imports: start-up, not the measured path."""
    return any("<frozen importlib._bootstrap" in f for f in frames)


_WAITS = (
    "EpollSelector.select",
    "select (",
    "Condition.wait",
    "_worker (",
    # uvloop's loop is C: its poll shows as the Python frame that started it.
    "Runner.run (asyncio/runners.py",
)


def is_waiting(frames: Sequence[str]) -> bool:
    """A stack whose leaf is the event loop's (or a thread's) wait for I/O."""
    return frames[-1].startswith(_WAITS)


@dataclass
class Collapsed:
    """Samples of py-spy's collapsed stacks, per frame and per process."""

    samples: int = 0
    own: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    processes: Counter[str] = field(default_factory=Counter)
    own_by_process: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    total_by_process: defaultdict[str, Counter[str]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    skipped: Counter[str] = field(default_factory=Counter)


def parse_collapsed(lines: Iterable[str]) -> Collapsed:
    """py-spy's raw (collapsed) output -> own samples per frame, total samples per frame (each
    frame counted once per stack), the same per process, and the number of samples. Stacks in
    module imports or waiting for I/O are left out (counted in `skipped`)."""
    found = Collapsed()
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = [f for f in stack.split(";") if f]
        process = "this process"
        # --subprocesses: one `process PID:"command"` frame per generation, parent first.
        while frames and (match := _PROCESS.match(frames[0])):
            process = short_process(match["cmd"])
            frames = frames[1:]
        # Thread names (`thread (0x7f…)`) are not frames.
        frames = [f for f in frames if not f.startswith("thread (")]
        if not frames:
            continue
        if is_import(frames) or is_waiting(frames):
            found.skipped["imports" if is_import(frames) else "waiting"] += count
            continue
        found.samples += count
        found.processes[process] += count
        leaf = short_frame(frames[-1])
        found.own[leaf] += count
        found.own_by_process[process][leaf] += count
        for frame in {short_frame(f) for f in frames}:
            found.total[frame] += count
            found.total_by_process[process][frame] += count
    return found


def top_frames(
    own: Mapping[str, int], total: Mapping[str, int], samples: int, limit: int = 10
) -> list[dict[str, Any]]:
    ranked = sorted(own.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [
        {
            "frame": frame,
            "own_share": count / samples if samples else 0.0,
            "total_share": total.get(frame, 0) / samples if samples else 0.0,
        }
        for frame, count in ranked
    ]


def summarize_collapsed(
    found: Collapsed, *, rate: int, limit: int = 10, min_process_share: float = 0.15
) -> dict[str, Any]:
    """The profile's figures: top frames overall and, when several processes each hold a fair
    share of the samples, per process."""
    profile: dict[str, Any] = {"samples": found.samples, "notes": []}
    if found.skipped:
        everything = found.samples + sum(found.skipped.values())
        profile["notes"].append(
            f"Left out of the tables: module imports "
            f"({found.skipped['imports'] / everything:.0%} of the samples) and waits for "
            f"I/O in an event loop or thread, uvloop's C loop included "
            f"({found.skipped['waiting'] / everything:.0%})."
        )
    if not found.samples:
        profile["top_own"] = []
        return profile
    profile["top_own"] = top_frames(found.own, found.total, found.samples, limit)
    profile["processes"] = {
        name: round(count / found.samples, 3) for name, count in found.processes.most_common(6)
    }
    shares = ", ".join(
        f"`{name}` {count / found.samples:.0%}" for name, count in found.processes.most_common(4)
    )
    profile["notes"].append(f"Samples (non-idle, {rate}/s) by process: {shares}.")
    big = [
        name
        for name, count in found.processes.most_common()
        if count / found.samples >= min_process_share
    ]
    if len(big) > 1:
        profile["by_process"] = {
            name: top_frames(
                found.own_by_process[name],
                found.total_by_process[name],
                found.processes[name],
                limit,
            )
            for name in big
        }
    return profile


def profile_file(path: Path, *, what: str, rate: int, limit: int = 10) -> dict[str, Any]:
    """A profile from a collapsed-stacks file py-spy wrote (e.g. attached to a server's pid)."""
    if not path.exists():
        return {"tool": "py-spy", "what": what, "error": f"no profile at {path}"}
    found = parse_collapsed(path.read_text(errors="replace").splitlines())
    return {"tool": "py-spy", "what": what, **summarize_collapsed(found, rate=rate, limit=limit)}


def pyspy_binary() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def profile_command(
    command: Sequence[str],
    *,
    what: str,
    env: Mapping[str, str] | None = None,
    rate: int = 50,
    limit: int = 10,
    db_calls: bool = False,
    timeout: float | None = None,
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """Run `command` (a Python script and its arguments, `[script.py, ...]`) under py-spy and
    answer the profile and the finished process. With `db_calls`, the database commands of the
    script's own process are counted too."""
    profile: dict[str, Any] = {"tool": "py-spy", "what": what, "notes": []}
    with tempfile.TemporaryDirectory(prefix="orderlens-bench-profile-") as tmp:
        collapsed = Path(tmp) / "stacks.txt"
        calls = Path(tmp) / "db.json"
        python = [sys.executable]
        if db_calls:
            python += ["-m", "bench.profile", "dbcalls", "--out", str(calls), "--"]
        target = [*python, *command]
        spy = pyspy_binary()
        if spy is None:
            profile["error"] = "py-spy is not installed (uv sync --all-packages installs it)"
            argv = target
        else:
            argv = [
                spy,
                "record",
                "--subprocesses",
                "--nonblocking",
                "--function",
                "--format",
                "raw",
                "--rate",
                str(rate),
                "--output",
                str(collapsed),
                "--",
                *target,
            ]
        started = time.monotonic()
        done = subprocess.run(
            argv,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        profile["seconds"] = round(time.monotonic() - started, 1)
        if spy is not None:
            if collapsed.exists():
                found = parse_collapsed(collapsed.read_text(errors="replace").splitlines())
                summary = summarize_collapsed(found, rate=rate, limit=limit)
                profile["notes"].extend(summary.pop("notes"))
                profile.update(summary)
            else:
                tail = (done.stderr or "").strip().splitlines()[-3:]
                profile["error"] = "py-spy wrote no profile: " + " / ".join(tail)
        if db_calls and calls.exists():
            profile["db_commands"] = json.loads(calls.read_text())[:limit]
    return profile, done


# -- database commands of one process ---------------------------------------------------------


def filter_shape(query: Any, depth: int = 0) -> str:
    """`{"_id": {"$in": [...]}, "created_at": {"$gte": x}}` -> `_id:$in,created_at:$gte`."""
    if not isinstance(query, Mapping) or depth > 2:
        return ""
    parts = []
    for key, value in query.items():
        if isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            parts.append(f"{key}:{'/'.join(sorted(str(k) for k in value))}")
        elif key in ("$and", "$or", "$nor") and isinstance(value, list):
            inner = "|".join(sorted({filter_shape(v, depth + 1) for v in value}))
            parts.append(f"{key}({inner})")
        else:
            parts.append(str(key))
    return ",".join(sorted(parts))


def command_key(name: str, database: str, command: Mapping[str, Any]) -> str:
    db = _RUN_SUFFIX.sub("_*", database)
    collection = command.get(name)
    where = f"{db}.{collection}" if isinstance(collection, str) else db
    shape = ""
    if name in ("find", "count", "delete", "findAndModify"):
        shape = filter_shape(command.get("filter") or command.get("query") or {})
        if name == "delete" and command.get("deletes"):
            shape = filter_shape(command["deletes"][0].get("q", {}))
    elif name == "update" and command.get("updates"):
        shape = filter_shape(command["updates"][0].get("q", {}))
    elif name == "aggregate":
        pipeline = command.get("pipeline") or [{}]
        first = pipeline[0] if pipeline else {}
        shape = filter_shape(first.get("$match", {})) if "$match" in first else ""
    return f"{name} {where}" + (f" {{{shape}}}" if shape else "")


class CommandTimes:
    """A PyMongo CommandListener adding up the time of each kind of command."""

    _ignored = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "getMore"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[Any, int], str] = {}
        self.calls: Counter[str] = Counter()
        self.micros: defaultdict[str, int] = defaultdict(int)
        self._cursor_keys: dict[int, str] = {}

    def started(self, event: Any) -> None:
        name = event.command_name
        if name in self._ignored and name != "getMore":
            return
        if name == "getMore":
            key = self._cursor_keys.get(int(event.command.get("getMore", 0)), "getMore")
            key = f"{key} (getMore)" if key != "getMore" else key
        else:
            key = command_key(name, event.database_name, event.command)
        with self._lock:
            self._pending[(event.connection_id, event.request_id)] = key

    def _finish(self, event: Any) -> None:
        with self._lock:
            key = self._pending.pop((event.connection_id, event.request_id), None)
            if key is None:
                return
            self.calls[key] += 1
            self.micros[key] += int(event.duration_micros)
            reply = getattr(event, "reply", None) or {}
            cursor = reply.get("cursor") if isinstance(reply, Mapping) else None
            if isinstance(cursor, Mapping) and cursor.get("id"):
                self._cursor_keys[int(cursor["id"])] = key.removesuffix(" (getMore)")

    def succeeded(self, event: Any) -> None:
        self._finish(event)

    def failed(self, event: Any) -> None:
        self._finish(event)

    def table(self) -> list[dict[str, Any]]:
        ranked = sorted(self.micros.items(), key=lambda item: -item[1])
        return [
            {
                "command": key,
                "calls": self.calls[key],
                "seconds": round(micros / 1e6, 3),
                "mean_ms": round(micros / 1e3 / max(1, self.calls[key]), 2),
            }
            for key, micros in ranked
        ]


def _dbcalls(args: argparse.Namespace) -> None:
    from pymongo import monitoring

    listener = CommandTimes()

    class Listener(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            listener.started(event)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            listener.succeeded(event)

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            listener.failed(event)

    monitoring.register(Listener())
    out = Path(args.out)

    def write() -> None:
        out.write_text(json.dumps(listener.table(), indent=1))

    atexit.register(write)
    script = args.command[0]
    sys.argv = list(args.command)
    sys.path.insert(0, str(Path(script).resolve().parent))
    runpy.run_path(script, run_name="__main__")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    calls = sub.add_parser("dbcalls", help="run a script, counting its database commands")
    calls.add_argument("--out", required=True)
    calls.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("dbcalls needs a script to run")
    _dbcalls(args)


if __name__ == "__main__":
    main()
