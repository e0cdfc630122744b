"""orderlens.webhooks: signatures (docs/contract.md §3.7), URLs, secrets at rest, the schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

import pytest

from orderlens.webhooks import (
    RetrySchedule,
    SecretBox,
    SignatureInvalid,
    UrlRefused,
    check_url,
    new_secret,
    secret_hint,
    sign,
    signature_headers,
    verify,
)

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
BODY = b'{"specversion":"1.0","id":"evt-1"}'


def test_the_signature_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_secret() -> None:
    secret = new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, b"evt-1.1764637200." + BODY, hashlib.sha256).digest()
    ).decode()
    assert sign(secret, "evt-1", 1764637200, BODY) == f"v1,{expected}"


def test_verify_accepts_its_own_headers_and_answers_the_event_id() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "evt-1", BODY, NOW)
    assert headers["webhook-id"] == "evt-1"
    assert headers["content-type"].startswith("application/cloudevents+json")
    assert verify([secret], headers, BODY, NOW + timedelta(seconds=30)) == "evt-1"
    # A rotated-out secret next to the new one, and several signatures in the header.
    other = new_secret()
    both = {
        **headers,
        "webhook-signature": f"{sign(other, 'evt-1', int(NOW.timestamp()), BODY)} "
        f"{headers['webhook-signature']}",
    }
    assert verify([other, secret], both, BODY, NOW) == "evt-1"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "evt-2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ],
)
def test_verify_refuses_anything_changed(tamper) -> None:  # type: ignore[no-untyped-def]
    secret = new_secret()
    headers, body = tamper(signature_headers(secret, "evt-1", BODY, NOW), BODY)
    with pytest.raises(SignatureInvalid):
        verify([secret], headers, body, NOW)


def test_verify_refuses_another_secret_and_a_stale_timestamp() -> None:
    secret = new_secret()
    headers = signature_headers(secret, "evt-1", BODY, NOW)
    with pytest.raises(SignatureInvalid):
        verify([new_secret()], headers, BODY, NOW)
    with pytest.raises(SignatureInvalid, match="tolerance"):
        verify([secret], headers, BODY, NOW + timedelta(minutes=6))


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://192.168.1.1/x",
        "https://172.16.0.1/x",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x",
        "https://[::ffff:127.0.0.1]/x",
        "https://localhost/x",
        "https://api.internal/x",
        "https://printer.local/x",
        "https://intranet/x",
        "https://u:p@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "ftp://hooks.example.com/x",
        "https:///x",
        "https://hooks.example.com:99999/x",
    ],
)
def test_check_url_refuses_in_production(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url)


def test_check_url_accepts_public_https_and_local_urls_only_when_allowed() -> None:
    assert check_url("https://hooks.example.com/orderlens?x=1") == (
        "https://hooks.example.com/orderlens?x=1"
    )
    assert check_url("https://93.184.216.34:8443/x")
    local = "http://127.0.0.1:9000/hook"
    with pytest.raises(UrlRefused):
        check_url(local, allow_http=True)
    assert check_url(local, allow_http=True, allow_internal=True) == local


def test_secret_box_seals_opens_and_rotates() -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    secret = new_secret()
    sealed = SecretBox(old).seal(secret)
    assert secret not in sealed
    assert SecretBox(f"{new},{old}").open(sealed) == secret
    with pytest.raises(ValueError, match="unknown key"):
        SecretBox(new).open(sealed)
    assert secret_hint(secret) == f"whsec_…{secret[-4:]}"


def test_the_retry_schedule_grows_jittered_up_to_its_cap_and_parks_after_max_age() -> None:
    schedule = RetrySchedule()
    rng = random.Random(1)
    for attempts, nominal in [(1, 5), (2, 10), (3, 20), (8, 640), (12, 3600), (40, 3600)]:
        delay = schedule.delay(attempts, rng).total_seconds()
        assert nominal * 0.5 <= delay <= nominal, (attempts, delay)
    delays = {schedule.delay(3, rng) for _ in range(20)}
    assert len(delays) > 10, "jittered"
    first = NOW
    assert not schedule.expired(first, first + timedelta(hours=23, minutes=59))
    assert schedule.expired(first, first + timedelta(hours=24))
    # Over a day, attempts at this schedule: about 24 after the first hour's few.
    elapsed, attempts = 0.0, 0
    while elapsed < 86400:
        attempts += 1
        elapsed += schedule.delay(attempts, rng).total_seconds()
    assert 25 <= attempts <= 60
