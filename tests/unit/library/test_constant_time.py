"""`orderlens.constant_time.same_secret`: equal secrets match, and any text a caller sends is
compared (False), never an error."""

from __future__ import annotations

import pytest

from orderlens.constant_time import same_secret


def test_equal_secrets_match_as_text_or_bytes() -> None:
    assert same_secret("a1b2", "a1b2")
    assert same_secret(b"a1b2", "a1b2")
    assert same_secret("Ωmega", "Ωmega")


@pytest.mark.parametrize("presented", ["a1b3", "", "Ω", "a1b2 ", "\udcff", b"\xff"])
def test_anything_else_is_not_the_secret(presented: str | bytes) -> None:
    assert not same_secret(presented, "a1b2")
