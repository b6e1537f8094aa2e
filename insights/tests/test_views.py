import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from insights.models import Campaign, SpendLine, Touch
from insights.tests.factories import make_automatic, make_campaign, touch

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def _url(name, business, *args):
    return reverse(name, args=[business.slug, *args])


@pytest.fixture
def campaign(owner, business):
    c = make_campaign(owner, business, name="Flyer", code="flyer", total_cost=5000, link_text="Oi!")
    touch(c, visitor="a" * 32)
    return c


@pytest.mark.parametrize("language", ["en", "pt-br"])
def test_pages_render_for_the_owner(client, owner, business, campaign, language):
    client.force_login(owner)
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    for url in (
        _url("campaigns", business),
        _url("campaigns", business) + "?days=7&model=first",
        _url("campaigns", business) + "?from=2026-01-01&to=2026-02-01&archived=1",
        _url("campaign_create", business),
        _url("campaign_detail", business, campaign.pk),
        _url("campaign_edit", business, campaign.pk),
        _url("campaign_card", business, campaign.pk) + "?link=shop",
    ):
        response = client.get(url, **headers)
        assert response.status_code == 200, url
    page = client.get(_url("campaigns", business), **EN).content.decode()
    assert "Flyer" in page and "Net revenue" in page and "R$" in page


def test_the_nav_entry(client, agent, business):
    client.force_login(agent)
    page = client.get(reverse("dashboard", args=[business.slug]), **EN).content.decode()
    assert _url("campaigns", business) in page


def test_agent_sees_counts_not_money_and_cannot_change(client, agent, business, campaign):
    client.force_login(agent)
    page = client.get(_url("campaigns", business), **EN).content.decode()
    assert "Flyer" in page and "Clicks" in page
    assert "Net revenue" not in page and "R$" not in page and "Import spend" not in page
    detail = client.get(_url("campaign_detail", business, campaign.pk), **EN).content.decode()
    assert "R$" not in detail and "Daily spend" not in detail
    assert "ref=flyer" in detail  # the links are there for the whole staff
    posts = [
        (
            _url("campaign_create", business),
            {"name": "X", "channel": "other", "cost_mode": "total"},
        ),
        (_url("campaign_edit", business, campaign.pk), {"name": "X"}),
        (_url("campaign_archive", business, campaign.pk), {}),
        (_url("campaign_spend_add", business, campaign.pk), {"day": "2026-03-01", "amount": "1"}),
        (_url("attribution_window", business), {"window_days": "1"}),
        (_url("campaign_spend_import", business), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    campaign.refresh_from_db()
    assert campaign.name == "Flyer" and campaign.archived_at is None
    assert Campaign.objects.count() == 1 and not SpendLine.objects.exists()


def test_outsiders_and_other_businesses_get_404(client, outsider, other, business, campaign):
    client.force_login(outsider)
    assert client.get(_url("campaigns", business)).status_code == 404
    client.force_login(other.owner)
    # another business's campaign id, under the user's own business
    for name in ("campaign_detail", "campaign_edit", "campaign_qr", "campaign_card"):
        assert client.get(_url(name, other.business, campaign.pk)).status_code == 404, name
    assert client.post(_url("campaign_archive", other.business, campaign.pk)).status_code == 404
    assert client.get(_url("campaign_detail", other.business, 10**30)).status_code == 404


def _speaks(user, language):
    user.language = language
    user.save(update_fields=["language"])


def test_create_with_a_local_amount_and_errors(client, owner, business):
    _speaks(owner, "pt-br")
    client.force_login(owner)
    data = {"name": "Verão", "channel": "instagram", "cost_mode": "total", "total_cost": "1.234,56"}
    response = client.post(_url("campaign_create", business), data, HTTP_ACCEPT_LANGUAGE="pt-br")
    assert response.status_code == 302
    created = Campaign.objects.get()
    assert (created.total_cost, created.code) == (123456, "verao")
    _speaks(owner, "en")
    bad = data | {
        "name": "Other",
        "total_cost": "-5",
        "starts_on": "2026-03-02",
        "ends_on": "2026-03-01",
    }
    response = client.post(_url("campaign_create", business), bad, **EN)
    assert response.status_code == 400
    assert "negative" in response.content.decode()
    taken = data | {"name": "Other", "code": "verao", "total_cost": ""}
    response = client.post(_url("campaign_create", business), taken, **EN)
    assert response.status_code == 400 and "already uses that code" in response.content.decode()
    markup = data | {"name": "Other", "code": "<b>x</b>"}
    response = client.post(_url("campaign_create", business), markup, **EN)
    assert response.status_code == 400 and "&lt;b&gt;" not in response.content.decode()[:0]
    assert Campaign.objects.count() == 1


def test_qr_codes_png_and_svg(client, agent, business, campaign):
    client.force_login(agent)
    url = _url("campaign_qr", business, campaign.pk)
    png = client.get(url + "?link=chat&format=png&download=1")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and "attachment" in png["Content-Disposition"]
    svg = client.get(url + "?link=shop")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert client.get(url + "?link=nope").status_code == 404
    assert client.get(url + "?link=product&product=999999").status_code == 404


def test_links_carry_the_code(owner, business, campaign):
    from insights import links

    chat = links.chat_link(campaign)
    assert chat.startswith("http") and "/c/padaria-central?" in chat
    assert "text=Oi%21" in chat and "ref=flyer" in chat and "utm_campaign=flyer" in chat
    assert "utm_source=instagram" in chat and "utm_medium=social" in chat
    assert "ref=flyer" in links.shop_link(campaign)


def test_spend_by_hand_and_import_lists_every_bad_line(client, owner, business):
    _speaks(owner, "pt-br")
    client.force_login(owner)
    daily = make_campaign(owner, business, name="Ads", code="ads", cost_mode="daily")
    url = _url("campaign_spend_add", business, daily.pk)
    assert (
        client.post(
            url, {"day": "2026-03-01", "amount": "12,50"}, HTTP_ACCEPT_LANGUAGE="pt-br"
        ).status_code
        == 302
    )
    assert SpendLine.objects.get().amount == 1250
    _speaks(owner, "en")
    response = client.post(url, {"day": "2026-03-01", "amount": "1"}, **EN)
    assert response.status_code == 400 and "already a line" in response.content.decode()
    line = SpendLine.objects.get()
    bad = SimpleUploadedFile(
        "spend.csv", b"date,campaign,amount\n2026-03-02,ads,1\n2026-03-03,nope,1\nx,ads,1\n"
    )
    response = client.post(
        _url("campaign_spend_import", business), {"file": bad, "numbers": "en"}, **EN
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Line 3:" in page and "Line 4:" in page and "Line 2:" not in page
    assert list(SpendLine.objects.all()) == [line]
    good = SimpleUploadedFile("spend.csv", b"Day;Campaign;Cost\n2026-03-02;ads;1,5\n")
    response = client.post(
        _url("campaign_spend_import", business), {"file": good, "numbers": "pt-br"}
    )
    assert response.status_code == 302
    assert SpendLine.objects.count() == 2
    delete = _url("campaign_spend_delete", business, daily.pk, line.pk)
    assert client.post(delete).status_code == 302
    assert SpendLine.objects.count() == 1


def test_rename_merge_archive_and_window(client, owner, business, campaign):
    client.force_login(owner)
    auto = make_automatic(business)
    touch(auto, Touch.Kind.CLICK)
    page = client.get(_url("campaigns", business), **EN).content.decode()
    assert "automatic" in page
    client.post(_url("campaign_rename", business, auto.pk), {"name": "News"})
    assert Campaign.objects.get(pk=auto.pk).name == "News"
    response = client.post(_url("campaign_merge", business, auto.pk), {"into": campaign.pk})
    assert response.status_code == 302
    auto.refresh_from_db()
    assert auto.merged_into == campaign and Touch.objects.filter(campaign=campaign).count() == 2
    client.post(_url("campaign_archive", business, campaign.pk))
    assert Campaign.objects.get(pk=campaign.pk).archived_at is not None
    client.post(_url("attribution_window", business), {"window_days": "28"})
    assert business.attribution_settings.window_days == 28
    assert (
        client.post(_url("attribution_window", business), {"window_days": "3"}).status_code == 302
    )
    business.attribution_settings.refresh_from_db()
    assert business.attribution_settings.window_days == 28


def _last_flash(response) -> str:
    return str(list(get_messages(response.wsgi_request))[-1])


def test_rename_merge_and_archive_flash_each_outcome(client, owner, business, campaign):
    client.force_login(owner)
    auto = make_automatic(business)
    detail = _url("campaign_detail", business, auto.pk)

    response = client.post(_url("campaign_rename", business, auto.pk), {"name": ""}, **EN)
    assert (response.url, _last_flash(response)) == (detail, "Enter the new name.")
    response = client.post(_url("campaign_rename", business, auto.pk), {"name": "News"}, **EN)
    assert (response.url, _last_flash(response)) == (detail, "Campaign renamed.")

    # A real campaign cannot be merged: back to it, told why; nothing moves.
    response = client.post(_url("campaign_merge", business, campaign.pk), {"into": auto.pk}, **EN)
    assert response.url == _url("campaign_detail", business, campaign.pk)
    assert _last_flash(response) == "Only an automatic campaign can be merged into another."
    response = client.post(_url("campaign_merge", business, auto.pk), {"into": campaign.pk}, **EN)
    assert response.url == _url("campaign_detail", business, campaign.pk)
    assert _last_flash(response) == "Merged into “Flyer”."
    auto.refresh_from_db()
    assert auto.merged_into == campaign

    archive = _url("campaign_archive", business, campaign.pk)
    response = client.post(archive, **EN)
    assert _last_flash(response) == "Campaign archived."
    response = client.post(archive, {"archived": "0"}, **EN)
    assert _last_flash(response) == "Campaign restored."
    assert response.url == _url("campaign_detail", business, campaign.pk)
