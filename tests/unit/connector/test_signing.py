"""TikTok Shop signatures: the documented example and hand-computed vectors."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from orderlens.tiktok_signing import (
    request_sign,
    request_sign_matches,
    webhook_signature,
    webhook_signature_matches,
)

pytestmark = pytest.mark.unit


def test_documented_get_authorized_shops_example() -> None:
    # Partner Center, "Sign your API request": app secret e59af819cc, Get Authorized Shops.
    sign = request_sign(
        "e59af819cc",
        "/authorization/202309/shops",
        {"app_key": "29a39d", "timestamp": "1623812664"},
    )
    assert sign == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"


def test_hand_computed_vector_with_body_and_shop_cipher() -> None:
    body = b'{"update_time_ge":1700000000,"update_time_lt":1700003600}'
    query = {
        "timestamp": "1700000000",
        "shop_cipher": "ROW_abc",
        "app_key": "k1",
        "page_size": "100",
        "sign": "ignored",
        "access_token": "ignored",
    }
    # By hand: secret, path, keys sorted (app_key page_size shop_cipher timestamp), body, secret.
    message = (
        b"s3cret/order/202309/orders/search"
        b"app_keyk1page_size100shop_cipherROW_abctimestamp1700000000" + body + b"s3cret"
    )
    expected = hmac.new(b"s3cret", message, hashlib.sha256).hexdigest()
    assert request_sign("s3cret", "/order/202309/orders/search", query, body) == expected


def test_every_signed_part_changes_the_signature() -> None:
    base = request_sign("s", "/p", {"a": "1"}, b"{}")
    assert request_sign("t", "/p", {"a": "1"}, b"{}") != base
    assert request_sign("s", "/q", {"a": "1"}, b"{}") != base
    assert request_sign("s", "/p", {"a": "2"}, b"{}") != base
    assert request_sign("s", "/p", {"a": "1"}, b"{ }") != base
    # sign and access_token are never part of it; multipart bodies are left out.
    assert request_sign("s", "/p", {"a": "1", "sign": "x", "access_token": "y"}, b"{}") == base
    assert request_sign("s", "/p", {}, b"a", "multipart/form-data; boundary=x") == request_sign(
        "s", "/p", {}, b"b", "multipart/form-data; boundary=y"
    )


def test_request_sign_matches_checks_the_sign_parameter() -> None:
    query = {"app_key": "k", "timestamp": "1"}
    query["sign"] = request_sign("s", "/p", query, b"x")
    assert request_sign_matches("s", "/p", query, b"x", "application/json")
    assert not request_sign_matches("s", "/p", query, b"y", "application/json")
    assert not request_sign_matches("s", "/p", {"app_key": "k", "timestamp": "1"}, b"x", "")


def test_documented_webhook_signature_example() -> None:
    # Partner Center, "Webhooks overview" (docs/tiktok-endpoints.md): app key abcdef, secret 123.
    body = (
        b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
        b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
        b'"order_status":"UNPAID","update_time":1718305585}}'
    )
    expected = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    assert webhook_signature("abcdef", "123", body) == expected
    assert webhook_signature_matches("abcdef", "123", body, expected)


def test_webhook_signature_hand_computed() -> None:
    body = b'{"type":1,"tts_notification_id":"7","shop_id":"9","timestamp":1,"data":{}}'
    expected = hmac.new(b"appsecret", b"appkey" + body, hashlib.sha256).hexdigest()
    assert webhook_signature("appkey", "appsecret", body) == expected
    assert webhook_signature_matches("appkey", "appsecret", body, expected)
    assert webhook_signature_matches("appkey", "appsecret", body, expected.upper())


@pytest.mark.parametrize(
    "header",
    [None, "", "0" * 64, "not-hex", "Bearer x"],
    ids=["none", "empty", "zeros", "junk", "bearer"],
)
def test_webhook_signature_refuses_missing_or_forged(header: str | None) -> None:
    assert not webhook_signature_matches("k", "s", b"{}", header)


def test_webhook_signature_refuses_a_changed_body() -> None:
    signature = webhook_signature("k", "s", b'{"order_id":"1"}')
    assert not webhook_signature_matches("k", "s", b'{"order_id":"2"}', signature)
    assert not webhook_signature_matches("other-app", "s", b'{"order_id":"1"}', signature)
