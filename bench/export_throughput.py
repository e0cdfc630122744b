"""Export throughput and peak memory: the exporter's code path beside raw baselines.

Each measurement runs in a child process of its own and reports its rows/s and its peak RSS
(`VmHWM`), so that one run's memory never inflates another's. Variants:

- `exporter-csv`, `exporter-xlsx`: the exporter's pipeline (`plan_export` + `write_export`:
  read-model validation, masking rules, typed cells, CSV neutralising / XLSX formats and sheet
  roll-over) exactly as the service runs it;
- `raw-csv`: a cursor straight into `csv.writer` (the same 39 columns, no validation or
  formatting beyond `str`);
- `raw-xlsx`: a cursor straight into XlsxWriter in constant-memory mode (`write_row`).

Sources of order documents:

- `memory` (default): realistic stored orders (the seed generator's, normalised) encoded to BSON
  once and decoded again per document, the work the driver does for a cursor; no database, so
  the figures are the exporter's own cost;
- `mongo`: a real cursor on `--mongodb-uri` (the documents are inserted in chunks first, once
  per database). On FerretDB 1.24 the database, not the exporter, is then the bottleneck.

Usage::

    uv run python bench/export_throughput.py --rows 1000000
    uv run python bench/export_throughput.py --rows 100000,1000000 --variants exporter-csv
    uv run python bench/export_throughput.py --source mongo --mongodb-uri mongodb://... --rows 20000
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
import xlsxwriter
from bson.codec_options import CodecOptions

from orderlens.events import ExportFormat, ExportRequested, Granularity
from orderlens.export_events import record_from_request
from orderlens.mongo import Document
from orderlens.normalise import normalise
from orderlens_devtools.seed import SeedConfig, final_snapshots, shop_ids
from orderlens_exporter.adapters.orders_source import EXPORT_PROJECTION, order_batches
from orderlens_exporter.pipeline import Progress, plan_export, write_export

VARIANTS = ("exporter-csv", "exporter-xlsx", "raw-csv", "raw-xlsx")
DISTINCT_ORDERS = 2_000
BATCH = 1_000
SEED = SeedConfig(orders=DISTINCT_ORDERS, shops=3, seed=11, end=datetime(2026, 5, 1, tzinfo=UTC))
CODEC: CodecOptions[Document] = CodecOptions(tz_aware=True, tzinfo=UTC)
KEPT = {*EXPORT_PROJECTION, "_id"}


def distinct_documents() -> list[bytes]:
    synced = datetime(2026, 5, 1, tzinfo=UTC)
    return [
        bson.encode(normalise(s.shop_id, s.order, synced).to_document())
        for s in final_snapshots(SEED)
    ]


def numbered(encoded: list[bytes], start: int, count: int) -> Iterator[Document]:
    for index in range(start, start + count):
        document: Document = bson.decode(encoded[index % len(encoded)], CODEC)
        document["_id"] = f"9{index:017d}"
        yield document


async def memory_batches(encoded: list[bytes], rows: int) -> AsyncGenerator[list[Document], None]:
    """Documents until `rows` line rows are reached, `BATCH` at a time."""
    produced = index = 0
    while produced < rows:
        batch = []
        for document in numbered(encoded, index, BATCH):
            batch.append(
                {k: v for k, v in document.items() if k in EXPORT_PROJECTION or k == "_id"}
            )
            produced += len(document["items"])
            if produced >= rows:
                break
        index += len(batch)
        yield batch


async def mongo_batches(uri: str, database: str, rows: int) -> AsyncGenerator[list[Document], None]:
    from pymongo import AsyncMongoClient

    client: Any = AsyncMongoClient(uri, tz_aware=True)
    try:
        produced = 0
        collection = client[database]["orders"]
        async for batch in order_batches(collection, {}, batch_size=BATCH):
            kept = []
            for document in batch:
                kept.append(document)
                produced += len(document["items"])
                if produced >= rows:
                    break
            yield kept
            if produced >= rows:
                return
    finally:
        await client.close()


async def ensure_mongo_orders(uri: str, database: str, rows: int) -> None:
    """Insert enough orders for `rows` line rows (in chunks), unless they are there already."""
    from pymongo import AsyncMongoClient

    client: Any = AsyncMongoClient(uri, tz_aware=True)
    try:
        collection = client[database]["orders"]
        encoded = distinct_documents()
        rows_per_order = sum(len(bson.decode(e)["items"]) for e in encoded) / len(encoded)
        wanted = int(rows / rows_per_order) + BATCH
        have = await collection.estimated_document_count()
        for start in range(have, wanted, 5_000):
            chunk = list(numbered(encoded, start, min(5_000, wanted - start)))
            await collection.insert_many(chunk, ordered=False)
            print(f"inserted {start + len(chunk):,} orders", file=sys.stderr, flush=True)
    finally:
        await client.close()


# -- the measured work (in the child) -----------------------------------------------------


def _batches(args: argparse.Namespace) -> AsyncGenerator[list[Document], None]:
    if args.source == "mongo":
        return mongo_batches(args.mongodb_uri, args.database, args.rows)
    return memory_batches(args.encoded, args.rows)


async def run_exporter(args: argparse.Namespace, export_format: str, path: Path) -> int:
    request = ExportRequested(
        export_id="bench",
        shop_ids=shop_ids(SEED),
        requested_by="bench",
        role=args.role,
        format=ExportFormat(export_format),
        granularity=Granularity.LINE,
        tz=args.tz,
    )
    plan = plan_export(record_from_request(request, now=datetime.now(UTC)))
    rows: int = await write_export(plan, _batches(args), path, Progress(), scratch_dir=path.parent)
    return rows


def _raw_row(document: Document, item: Document) -> list[Any]:
    recipient, buyer, money = document["recipient"], document["buyer"], document["money"]
    package = document["packages"][0] if document["packages"] else {}
    return [
        document["_id"], document["status"], document["return_status"],
        document["created_at"], document.get("paid_at"), document.get("shipped_at"),
        document.get("delivered_at"), document.get("cancelled_at"), document["shop_id"],
        item["sku_id"], item.get("seller_sku"), item["product_name"], item.get("variation"),
        item["quantity"], item.get("unit_original_price"), item["subtotal_before_discount"],
        item["seller_discount"], item["platform_discount"], item["subtotal_after_discount"],
        money.get("shipping_fee"), money.get("tax"), money["total"], money["currency"],
        document.get("payment_method"), package.get("carrier"), package.get("tracking_number"),
        package.get("tracking_status"), package.get("estimated_delivery_at"),
        buyer.get("user_id"), recipient.get("name"), recipient.get("phone"), buyer.get("email"),
        recipient.get("country"), recipient.get("state"), recipient.get("city"),
        recipient.get("postal_code"), recipient.get("full_address"), buyer.get("message"),
        document.get("seller_note"),
    ]  # fmt: skip


async def run_raw_csv(args: argparse.Namespace, path: Path) -> int:
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        async for batch in _batches(args):
            for document in batch:
                for item in document["items"]:
                    writer.writerow(_raw_row(document, item))
                    rows += 1
    return rows


async def run_raw_xlsx(args: argparse.Namespace, path: Path) -> int:
    options = {"constant_memory": True, "tmpdir": str(path.parent), "remove_timezone": True}
    workbook = xlsxwriter.Workbook(str(path), options)
    sheet = workbook.add_worksheet()
    rows = 0
    async for batch in _batches(args):
        for document in batch:
            for item in document["items"]:
                rows += 1
                sheet.write_row(rows, 0, _raw_row(document, item))
    workbook.close()
    return rows


def peak_rss_kb() -> int:
    """This process's own peak RSS. Linux's `ru_maxrss` also counts the parent's RSS at fork
    time (it survives exec), so read the memory map's high-water mark (`VmHWM`) instead."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(args: argparse.Namespace) -> None:
    variant = args.child
    suffix = "xlsx" if variant.endswith("xlsx") else "csv"
    with tempfile.TemporaryDirectory(prefix="orderlens-bench-", dir=args.tmpdir) as tmp:
        path = Path(tmp) / f"out.{suffix}"
        args.encoded = distinct_documents() if args.source == "memory" else []
        started = time.perf_counter()
        if variant.startswith("exporter-"):
            rows = asyncio.run(run_exporter(args, suffix, path))
        elif variant == "raw-csv":
            rows = asyncio.run(run_raw_csv(args, path))
        else:
            rows = asyncio.run(run_raw_xlsx(args, path))
        seconds = time.perf_counter() - started
        size = path.stat().st_size
    peak_kb = peak_rss_kb()
    print(
        json.dumps(
            {
                "variant": variant,
                "rows": rows,
                "seconds": round(seconds, 2),
                "rows_per_second": round(rows / seconds),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "file_mb": round(size / 1e6, 1),
            }
        )
    )


# -- the driver (the parent) --------------------------------------------------------------


def measure(args: argparse.Namespace, variant: str, rows: int) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--rows",
        str(rows),
        "--source",
        args.source,
        "--mongodb-uri",
        args.mongodb_uri,
        "--database",
        args.database,
        "--role",
        args.role,
        "--tz",
        args.tz,
    ] + (["--tmpdir", args.tmpdir] if args.tmpdir else [])
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1000000", help="rows per run; several: 100000,1000000")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--source", choices=("memory", "mongo"), default="memory")
    parser.add_argument("--mongodb-uri", default="mongodb://127.0.0.1:27017/")
    parser.add_argument("--database", default="orderlens_bench")
    parser.add_argument("--role", default="analyst", help="analyst exercises PII masking")
    parser.add_argument("--tz", default="Europe/Berlin")
    parser.add_argument("--tmpdir", default=None, help="where the files are written")
    parser.add_argument("--json", action="store_true", help="print JSON lines, not a table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.rows = int(args.rows)
        child(args)
        return
    sizes = [int(r) for r in args.rows.split(",")]
    if args.source == "mongo":
        asyncio.run(ensure_mongo_orders(args.mongodb_uri, args.database, max(sizes)))
    if not args.json:
        print(f"source: {args.source}; role {args.role}; tz {args.tz}; line granularity")
        print("| variant | rows | seconds | rows/s | peak RSS (MB) | file (MB) |")
        print("|---|---:|---:|---:|---:|---:|")
    for rows in sizes:
        for variant in args.variants.split(","):
            result = measure(args, variant, rows)
            if args.json:
                print(json.dumps({"source": args.source, **result}), flush=True)
            else:
                print(
                    f"| {result['variant']} | {result['rows']:,} | {result['seconds']} | "
                    f"{result['rows_per_second']:,} | {result['peak_rss_mb']} | "
                    f"{result['file_mb']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
