import datetime

import pytest

from insights.models import Campaign, OrderAttribution, Touch
from insights.services import campaigns
from insights.tests.factories import make_automatic, make_campaign, touch

pytestmark = pytest.mark.django_db
D = datetime.date


def _error(call, **kwargs):
    with pytest.raises(campaigns.AppError) as info:
        call(**kwargs)
    return info.value


def test_create_makes_a_code_from_the_name(owner, business):
    # given two campaigns of the same name
    first = make_campaign(owner, business, name="Promoção de Verão!")
    second = make_campaign(owner, business, name="Promoção de Verão!")
    # then each has its own code, made from the name
    assert first.code == "promocao-de-verao"
    assert second.code == "promocao-de-verao-2"
    assert first.currency == "BRL"
    assert first.utm_source == "instagram" and first.utm_medium == "social"


def test_create_keeps_a_given_code_lower_cased(owner, business):
    campaign = make_campaign(owner, business, code="Flyer-Centro_1", total_cost=5000)
    assert campaign.code == "flyer-centro_1"
    assert campaign.total_cost == 5000


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"total_cost": -1}, "money_negative", "total_cost"),
        ({"total_cost": 10**12 + 1}, "money_too_large", "total_cost"),
        ({"total_cost": 12.5}, "invalid_amount", "total_cost"),
        ({"total_cost": "1000"}, "invalid_amount", "total_cost"),
        ({"starts_on": D(2026, 3, 10), "ends_on": D(2026, 3, 9)}, "ends_before_start", "ends_on"),
        ({"starts_on": D(1900, 1, 1)}, "invalid_date", "starts_on"),
        ({"code": "<script>"}, "markup", "code"),
        ({"code": "a b"}, "invalid_code", "code"),
        ({"code": "x" * 41}, "invalid_code", "code"),
        ({"code": "auto-123"}, "reserved_code", "code"),
        ({"name": ""}, "required", "name"),
        ({"name": "<b>hi</b>"}, "markup", "name"),
        ({"name": "a\x00b"}, "control_chars", "name"),
        ({"name": "x" * 121}, "too_long", "name"),
        ({"channel": "radio"}, "invalid_channel", "channel"),
        ({"cost_mode": "weekly"}, "invalid_cost_mode", "cost_mode"),
        ({"utm_source": "a" * 10_000}, "invalid_utm", "utm_source"),
        ({"utm_medium": "c\r\npc"}, "invalid_utm", "utm_medium"),
        ({"link_text": "<script>alert(1)</script>"}, "markup", "link_text"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(owner, business, kwargs, code, field):
    kwargs = {"name": "Summer", **kwargs}
    exc = _error(campaigns.create_campaign, actor=owner, business=business, **kwargs)
    assert (exc.code, exc.field) == (code, field)
    assert str(exc.message)
    assert not Campaign.objects.exists()


def test_a_taken_code_is_refused(owner, business):
    make_campaign(owner, business, code="flyer")
    exc = _error(
        campaigns.create_campaign, actor=owner, business=business, name="Other", code="FLYER"
    )
    assert exc.code == "code_taken"
    assert Campaign.objects.count() == 1


def test_the_same_code_in_another_business_is_fine(owner, business, other):
    make_campaign(owner, business, code="flyer")
    assert make_campaign(other.owner, other.business, code="flyer").code == "flyer"


def test_agents_and_outsiders_cannot_write(owner, business, agent, outsider, other):
    for actor in (agent, outsider, other.owner):
        exc = _error(campaigns.create_campaign, actor=actor, business=business, name="X")
        assert exc.status_code == 403
    campaign = make_campaign(owner, business)
    exc = _error(campaigns.archive_campaign, actor=agent, campaign=campaign)
    assert exc.status_code == 403
    assert Campaign.objects.get().archived_at is None


def test_admin_edits_and_archives(owner, admin, business):
    campaign = make_campaign(owner, business, code="spring")
    campaigns.update_campaign(
        actor=admin, campaign=campaign, name="Spring 2", channel="google", code="spring-2",
        cost_mode="daily", link_text="Hi! I saw your ad",
    )  # fmt: skip
    campaign.refresh_from_db()
    assert (campaign.name, campaign.code, campaign.cost_mode) == ("Spring 2", "spring-2", "daily")
    assert campaign.utm_medium == "cpc"
    campaigns.archive_campaign(actor=admin, campaign=campaign)
    assert Campaign.objects.get().archived_at is not None
    campaigns.archive_campaign(actor=admin, campaign=campaign, archived=False)
    assert Campaign.objects.get().archived_at is None


def test_the_code_stays_once_links_were_used(owner, business):
    campaign = make_campaign(owner, business, code="spring")
    touch(campaign)
    exc = _error(
        campaigns.update_campaign, actor=owner, campaign=campaign, name="S", channel="other",
        code="autumn",
    )  # fmt: skip
    assert exc.code == "code_in_use"
    assert Campaign.objects.get().code == "spring"


def test_an_automatic_campaign_is_renamed_not_edited(owner, business):
    auto = make_automatic(business)
    exc = _error(
        campaigns.update_campaign, actor=owner, campaign=auto, name="S", channel="other", code="s"
    )
    assert exc.code == "automatic_campaign"
    campaigns.rename_campaign(actor=owner, campaign=auto, name="June newsletter")
    assert Campaign.objects.get().name == "June newsletter"


def test_merge_moves_touches_and_orders_and_keeps_the_mapping(owner, business):
    # given an automatic campaign with touches and an order credited to it
    real = make_campaign(owner, business, code="news")
    auto = make_automatic(business)
    t1, t2 = touch(auto), touch(auto, Touch.Kind.CONVERSATION)
    from payments.tests.factories import sale_in_chat

    sale = sale_in_chat(owner, business)
    from insights.tests.factories import attribute

    attribution = attribute(sale.order, first=auto, last=auto)
    # when it is merged into the real one
    campaigns.merge_campaign(actor=owner, campaign=auto, into=real)
    # then everything moved, and the automatic one stays archived, pointing at it
    assert set(Touch.objects.filter(campaign=real)) == {t1, t2}
    attribution = OrderAttribution.objects.get(pk=attribution.pk)
    assert attribution.first_campaign == real and attribution.last_campaign == real
    auto.refresh_from_db()
    assert auto.merged_into == real and auto.archived_at is not None
    # and it cannot be merged again, nor brought back
    assert _error(campaigns.merge_campaign, actor=owner, campaign=auto, into=real).code
    exc = _error(campaigns.archive_campaign, actor=owner, campaign=auto, archived=False)
    assert exc.code == "merged_campaign"


def test_merge_refuses_bad_targets(owner, business, other):
    real = make_campaign(owner, business)
    auto, auto2 = make_automatic(business), make_automatic(business, key="a/b/c")
    theirs = make_campaign(other.owner, other.business)
    assert _error(campaigns.merge_campaign, actor=owner, campaign=real, into=real).code == (
        "not_automatic"
    )
    assert _error(campaigns.merge_campaign, actor=owner, campaign=auto, into=auto2).code == (
        "invalid_target"
    )
    exc = _error(campaigns.merge_campaign, actor=owner, campaign=auto, into=theirs)
    assert exc.status_code == 404
    assert not Campaign.objects.filter(merged_into__isnull=False).exists()


def test_attribution_window(owner, agent, business):
    assert campaigns.set_attribution_window(actor=owner, business=business, window_days=28)
    assert business.attribution_settings.window_days == 28
    assert (
        _error(campaigns.set_attribution_window, actor=owner, business=business, window_days=3).code
        == "invalid_window"
    )
    exc = _error(campaigns.set_attribution_window, actor=agent, business=business, window_days=1)
    assert exc.status_code == 403
    business.attribution_settings.refresh_from_db()
    assert business.attribution_settings.window_days == 28
