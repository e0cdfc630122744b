"""The export record's rules: ids, file names, who may download what and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.export import (
    ExportRecord,
    ExportStatus,
    covers_shops,
    download_refusal,
    file_key,
    is_valid_export_id,
    new_export_id,
)
from orderlens.events import ExportFormat, ExportRequested, Granularity
from orderlens.export_events import completed_event_data, record_from_request, requested_event_data

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def record(**changes: object) -> ExportRecord:
    request = ExportRequested(
        export_id="exp-1",
        shop_ids=["s2", "s1", "s2"],
        requested_by="alice",
        role="analyst",
        format=ExportFormat.XLSX,
        granularity=Granularity.ORDER,
        filters={"status": ["DELIVERED"]},
        tz="Europe/Paris",
    )
    base = record_from_request(request, now=NOW, event_id="evt-1")
    return base.model_copy(update=changes)


def test_a_request_becomes_a_queued_record_that_round_trips_through_mongodb() -> None:
    created = record()
    assert created.status == ExportStatus.QUEUED
    assert created.shop_ids == ["s1", "s2"]
    assert ExportRecord.from_document(created.to_document()) == created
    assert created.to_document()["_id"] == "exp-1"
    assert requested_event_data(created).filters == {"status": ["DELIVERED"]}


def test_generated_ids_are_safe_and_unsafe_ones_are_refused() -> None:
    assert is_valid_export_id(new_export_id())
    for bad in ("../x", "a/b", "", "a" * 65, "é", "a.b", "-x"):
        assert not is_valid_export_id(bad)


def test_each_attempt_has_its_own_file() -> None:
    assert file_key("exp-1", 1, ExportFormat.CSV) != file_key("exp-1", 2, ExportFormat.CSV)


def test_a_caller_needs_every_shop_of_the_export() -> None:
    assert covers_shops(record(), {"s1", "s2", "s3"})
    assert not covers_shops(record(), {"s1"})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"status": ExportStatus.RUNNING}, "export is running"),
        ({"status": ExportStatus.FAILED}, "export is failed"),
        ({"status": ExportStatus.SUCCEEDED}, "export has no file"),
        (
            {
                "status": ExportStatus.SUCCEEDED,
                "file_key": "k",
                "sha256": "0" * 64,
                "bytes": 1,
                "expires_at": NOW - timedelta(seconds=1),
            },
            "export file has expired",
        ),
        (
            {
                "status": ExportStatus.SUCCEEDED,
                "file_key": "k",
                "sha256": "0" * 64,
                "bytes": 1,
                "expires_at": NOW + timedelta(hours=1),
            },
            None,
        ),
    ],
)
def test_only_a_succeeded_unexpired_export_can_be_downloaded(
    changes: dict[str, object], reason: str | None
) -> None:
    assert download_refusal(record(**changes), NOW) == reason


def test_completed_event_data_only_for_finished_exports() -> None:
    with pytest.raises(ValueError, match="not finished"):
        completed_event_data(record())
    done = completed_event_data(record(status=ExportStatus.FAILED, error="boom"))
    assert (done.status, done.error) == ("failed", "boom")
