"""What the MongoDB-wire server at hand can do, read once at start-up (docs/decisions/0086).

orderlens is written for MongoDB. The few behaviours a stand-in server may lack are each one
field here, derived from `buildInfo` and `hello` (`isMaster` where `hello` is unknown) and a probe
where no reply says it; no other module may ask which server it talks to. Each field has a test
in tests/unit/library/test_capabilities.py and a conformance test in tests/conformance/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from orderlens.mongo import Document

_COMMAND_NOT_FOUND = 59
_ID_LIST_CHUNK = 256


@dataclass(frozen=True)
class ServerCapabilities:
    """`atomic_conditional_updates`: an update whose filter names more than `_id` matches and
    writes as one step, so a version guard (`{"_id": id, "version": n}`) lets exactly one of two
    racing writers win. False on FerretDB 1.24 (it reads, then writes: docs/decisions/0034).

    `explain`: the server answers the `explain` command (mongo-java-server does not), so a test
    can prove which index serves a query.

    `id_index_serves_compound_filters`: a filter with an `_id` equality and further keys (the
    version guard `{"_id": id, "version": n}`) is served by the `_id` index. True where a query
    planner plans it (the server answers `explain`: MongoDB). mongo-java-server serves a filter
    from an index only when the filter's keys are exactly that index's keys, and only from
    unique indexes (`AbstractUniqueIndex.canHandle`), so every guarded write scans the
    collection; where this is false, `orderlens.indexes.ensure_indexes` adds the unique
    `{_id, version}` index the guard then hits (docs/decisions/0140). False on FerretDB 1.24
    too (0034).

    `id_list_chunk`: how many ids one `{"_id": {"$in": [...]}}` read should name at most (None:
    no limit). mongo-java-server finds the documents by index, then matches each found document
    against the whole list again (`DefaultQueryMatcher`, a linear pass per document), so one read
    of n ids costs n² comparisons (2,000 ids: ~0.1 s; 10,000: ~0.9 s); in chunks of 256 it is
    linear. MongoDB answers any list from the index (docs/decisions/0143).

    `sorts_every_match`: a find with a sort and a limit collects every document the filter
    matches and sorts them all before the limit applies, so the same answer costs less from a
    narrower filter. True on mongo-java-server (no query planner: `AbstractMongoCollection`
    sorts the matches in memory; 10,000 orders: ~70 ms sorted, ~15 ms for a filter that leaves a
    few hundred), where query-api narrows newest-first pages by a learned bound
    (docs/decisions/0200). False where the server answers `explain` (a planner walks the
    sort's index and stops at the limit)."""

    version: str
    wire_version: int
    atomic_conditional_updates: bool
    explain: bool
    id_index_serves_compound_filters: bool
    id_list_chunk: int | None
    sorts_every_match: bool

    @classmethod
    def from_replies(
        cls, build_info: Document, hello: Document, *, explain: bool
    ) -> ServerCapabilities:
        ferretdb = "ferretdbVersion" in build_info or "ferretdbFeatures" in build_info
        return cls(
            version=str(build_info.get("version", "")),
            wire_version=int(hello.get("maxWireVersion", 0)),
            atomic_conditional_updates=not ferretdb,
            explain=explain,
            id_index_serves_compound_filters=explain and not ferretdb,
            id_list_chunk=None if explain else _ID_LIST_CHUNK,
            sorts_every_match=not explain,
        )

    @classmethod
    async def read(cls, db: AsyncDatabase[Document]) -> ServerCapabilities:
        admin = db.client.admin
        build_info = await admin.command("buildInfo")
        hello = await _hello(db)
        explain = await _answers(db, {"explain": {"find": "orderlens_capabilities_probe"}})
        return cls.from_replies(build_info, hello, explain=explain)


async def _hello(db: AsyncDatabase[Document]) -> Document:
    try:
        reply: Document = await db.client.admin.command("hello")
    except OperationFailure as exc:
        if exc.code != _COMMAND_NOT_FOUND:
            raise
        reply = await db.client.admin.command("isMaster")
    return reply


async def _answers(db: AsyncDatabase[Document], command: dict[str, Any]) -> bool:
    try:
        await db.command(command)
    except OperationFailure as exc:
        if exc.code == _COMMAND_NOT_FOUND:
            return False
        raise
    return True
