"""One test per `ServerCapabilities` field: what each server's replies make of it.

The replies are the ones the servers send (recorded from MongoDB 7.0, mongo-java-server 1.47.0
through deploy/local/mongo/Launcher.java, and FerretDB 1.24); tests/conformance/ checks the
live server the tests are given against what its capabilities claim."""

from __future__ import annotations

from orderlens.capabilities import ServerCapabilities
from orderlens.indexes import ORDERS, indexes_for

MONGODB_BUILD_INFO = {"version": "7.0.14", "versionArray": [7, 0, 14, 0], "ok": 1.0}
MONGODB_HELLO = {"isWritablePrimary": True, "maxWireVersion": 21, "ok": 1.0}
MONGO_JAVA_SERVER_BUILD_INFO = {"version": "5.0.0", "versionArray": [5, 0, 0], "ok": 1.0}
MONGO_JAVA_SERVER_IS_MASTER = {"ismaster": True, "maxWireVersion": 13, "ok": 1.0}
FERRETDB_BUILD_INFO = {
    "version": "7.0.42",
    "ferretdbVersion": "v1.24.0",
    "ferretdbFeatures": {},
    "ok": 1.0,
}


def test_atomic_conditional_updates_everywhere_but_ferretdb() -> None:
    mongodb = ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True)
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )
    ferretdb = ServerCapabilities.from_replies(FERRETDB_BUILD_INFO, MONGODB_HELLO, explain=True)
    assert mongodb.atomic_conditional_updates
    assert local.atomic_conditional_updates
    assert not ferretdb.atomic_conditional_updates


def test_explain_is_what_the_probe_found() -> None:
    assert ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True).explain
    assert not ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    ).explain


def test_version_and_wire_version_from_the_replies() -> None:
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )
    assert (local.version, local.wire_version) == ("5.0.0", 13)


def test_id_index_serves_compound_filters_where_a_query_planner_plans_them() -> None:
    mongodb = ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True)
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )
    ferretdb = ServerCapabilities.from_replies(FERRETDB_BUILD_INFO, MONGODB_HELLO, explain=True)
    assert mongodb.id_index_serves_compound_filters
    assert not local.id_index_serves_compound_filters
    assert not ferretdb.id_index_serves_compound_filters


def test_the_guard_index_is_declared_only_where_the_id_index_does_not_serve_the_guard() -> None:
    mongodb = ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True)
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )

    def names(capabilities: ServerCapabilities) -> set[str]:
        return {m.document["name"] for m in indexes_for(capabilities)[ORDERS]}

    assert "id_version" not in names(mongodb)
    assert "id_version" in names(local)
    guard = next(
        m.document for m in indexes_for(local)[ORDERS] if m.document["name"] == "id_version"
    )
    assert guard["unique"] is True
    assert list(guard["key"]) == ["_id", "version"]


def test_reads_by_many_ids_go_in_chunks_only_where_the_list_is_matched_per_document() -> None:
    mongodb = ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True)
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )
    assert mongodb.id_list_chunk is None
    assert local.id_list_chunk is not None
    assert local.id_list_chunk >= 100


def test_every_match_is_sorted_only_where_no_query_planner_walks_an_index() -> None:
    mongodb = ServerCapabilities.from_replies(MONGODB_BUILD_INFO, MONGODB_HELLO, explain=True)
    local = ServerCapabilities.from_replies(
        MONGO_JAVA_SERVER_BUILD_INFO, MONGO_JAVA_SERVER_IS_MASTER, explain=False
    )
    assert not mongodb.sorts_every_match
    assert local.sorts_every_match
