"""`orderlens.mongo.batch_size_for`: a reply of a streamed read holds at most 16 MiB of the
documents it expects (docs/decisions/0220)."""

from __future__ import annotations

from orderlens.mongo import ORDER_BYTES, REPLY_BYTES, batch_size_for


def test_a_batch_of_the_largest_expected_documents_fills_one_16_mib_reply() -> None:
    assert batch_size_for(ORDER_BYTES) == 128
    assert batch_size_for(ORDER_BYTES) * ORDER_BYTES <= REPLY_BYTES


def test_a_batch_holds_at_least_one_and_at_most_10000_documents() -> None:
    assert batch_size_for(16 * 1024 * 1024) == 1
    assert batch_size_for(100 * 1024 * 1024) == 1
    assert batch_size_for(0) == 10_000
    assert batch_size_for(100) == 10_000
