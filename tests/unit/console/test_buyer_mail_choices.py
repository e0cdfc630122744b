"""The buyer's e-mail form without a server: every mail kind offered in buyer words, ticked as
stored, and a submitted form read strictly (a field never offered is refused, naming it)."""

from __future__ import annotations

import pytest

from orderlens.notifications import EmailPreferences, MailKind
from orderlens_console import buyer_service
from orderlens_console.adapters.query_api import ApiError

pytestmark = pytest.mark.unit


def test_every_mail_kind_is_offered_in_buyer_words_ticked_as_stored() -> None:
    choices = buyer_service.mail_choices({"shipped": True, "delivered": False})
    assert [c.kind for c in choices] == [k.value for k in MailKind]
    assert {c.kind: c.on for c in choices} == {
        "shipped": True,
        "out_for_delivery": True,  # not stored: on, as query-api answers it
        "delivered": False,
        "delivery_issue": True,
    }
    assert all(c.label and c.hint and "_" not in c.label for c in choices)
    assert len({c.label for c in choices}) == len(choices)


def test_a_ticked_box_is_wanted_and_an_absent_one_is_not() -> None:
    wanted = buyer_service.wanted_mail({"csrf_token": "x", "shipped": "on", "delivered": "on"})
    assert wanted == {
        "shipped": True,
        "out_for_delivery": False,
        "delivered": True,
        "delivery_issue": False,
    }
    # The same shape query-api accepts.
    assert EmailPreferences(**wanted).model_dump() == wanted


def test_a_field_never_offered_or_another_value_is_refused_naming_it() -> None:
    with pytest.raises(buyer_service.PreferencesRefused) as refused:
        buyer_service.wanted_mail({"shipped": "yes", "weekly_digest": "on"})
    assert set(refused.value.problems) == {"shipped", "weekly_digest"}
    assert "weekly_digest" in refused.value.problems["weekly_digest"]
    # What the buyer ticked is shown again as they left it.
    assert refused.value.wanted["shipped"] is False
    shown = buyer_service.mail_choices(refused.value.wanted, refused.value.problems)
    assert [c.kind for c in shown if c.problem] == ["shipped"]


def test_query_apis_400_lands_at_the_box_it_names() -> None:
    exc = ApiError(
        400,
        "invalid request: body.email.delivered: Input should be a valid boolean",
        [
            {"param": "body.email.delivered", "message": "Input should be a valid boolean"},
            {"param": "body.inbox", "message": "Field required"},
        ],
    )
    assert buyer_service.api_problems(exc) == {
        "delivered": "Input should be a valid boolean",
        "form": "Field required",
    }
    assert buyer_service.api_problems(ApiError(400, "bad body")) == {"form": "bad body"}
