"""Touches: the bot filter, visitors without cookies or addresses, hostile tracking
values, buffered clicks and their flush, campaign matching and automatic campaigns,
and the touches of the shop, product and click-to-chat pages, of a conversation
started and of an offer delivered."""

import datetime
import json

import pytest
from django.core.cache import caches
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import make_product
from chats.models import Contact, Conversation
from chats.services import consent, outbox
from insights.models import Campaign, Channel, Touch
from insights.services import touches
from insights.tests.helpers import BROWSER, click, start_chat
from insights.visitors import (
    daily_salt,
    is_bot,
    parse_tracking,
    visitor_hash,
)
from marketing import services as marketing

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def campaign(business, code, **fields):
    return Campaign.objects.create(
        business=business, name=code.title(), code=code, currency=business.currency, **fields
    )


# --- Bots ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.32.3",
        "Mozilla/5.0 (compatible; SkypeUriPreview Preview/0.5)",
        "Baiduspider+(+http://www.baidu.com/search/spider.htm)",
        "",
        "   ",
        None,
    ],
)
def test_crawlers_previewers_uptime_checks_and_scripts_are_bots(agent):
    assert is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        BROWSER,
        # the browser tests' Chromium
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/156.0.0.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 Instagram 337.0.3.23.54",
        "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) [FBAN/FBIOS;FBAV/470.0]",
    ],
)
def test_browsers_are_people(agent):
    assert not is_bot(agent)


def test_a_bot_following_a_campaign_link_is_not_counted(business):
    assert not click(business, agent="facebookexternalhit/1.1", utm_source="instagram")
    assert not click(business, agent="", utm_source="instagram")
    assert touches.flush() == 0
    assert not Touch.objects.exists()


# --- Visitors -------------------------------------------------------------------------------


def test_a_visitor_is_the_same_all_day_at_one_shop_and_unrelated_elsewhere(business, other):
    one = visitor_hash(business_id=business.pk, ip="203.0.113.7", user_agent=BROWSER)
    assert one == visitor_hash(business_id=business.pk, ip="203.0.113.7", user_agent=BROWSER)
    assert len(one) == 32 and int(one, 16) >= 0
    assert one != visitor_hash(business_id=other.business.pk, ip="203.0.113.7", user_agent=BROWSER)
    assert one != visitor_hash(business_id=business.pk, ip="203.0.113.8", user_agent=BROWSER)
    assert one != visitor_hash(business_id=business.pk, ip="203.0.113.7", user_agent="Other/1")


def test_the_salt_changes_every_day_and_lives_in_the_cache_only(business):
    today = datetime.datetime.now(datetime.UTC).date()
    salt = daily_salt(today)
    assert salt == daily_salt(today)
    assert salt != daily_salt(today + datetime.timedelta(days=1))
    assert caches["default"].get(f"insights:visitor-salt:{today.isoformat()}") == salt


def test_no_address_is_stored_in_a_touch(business):
    click(business, ip="198.51.100.23", utm_source="instagram")
    touches.flush()

    touch = Touch.objects.get()
    values = " ".join(str(v) for v in Touch.objects.values().get().values())
    assert "198.51.100.23" not in values and "Android" not in values
    assert len(touch.visitor) == 32


# --- Tracking values --------------------------------------------------------------------------


def test_tracking_values_are_read_from_the_query_string():
    tracking = parse_tracking(
        {"ref": "flyer", "utm_source": "Instagram", "utm_medium": "social", "utm_campaign": "x",
         "utm_term": "bolo", "utm_content": "story", "gclid": "G-1", "fbclid": "FB-1"}
    )  # fmt: skip
    assert (tracking.ref, tracking.source, tracking.medium, tracking.campaign) == (
        "flyer", "Instagram", "social", "x",
    )  # fmt: skip
    assert (tracking.term, tracking.content) == ("bolo", "story")
    assert (tracking.click_id_kind, tracking.click_id) == ("gclid", "G-1")
    assert not parse_tracking({"text": "Oi"})


@pytest.mark.parametrize(
    "value",
    [
        "x" * 10_000,
        "a\x00b\x01c\x1b[31md\u202eevil\u200b\r\n\t",
        '<script>alert("x")</script>',
        "",
    ],
)
def test_hostile_values_are_cut_and_cleaned_never_an_error(business, value):
    params = {name: value for name in ("ref", "utm_source", "utm_medium", "utm_campaign")}
    click(business, click_id=value + "z", **params)
    touches.flush()

    touch = Touch.objects.get()
    for field in ("ref", "source", "medium", "utm_campaign", "click_id"):
        stored = getattr(touch, field)
        assert len(stored) <= Touch._meta.get_field(field).max_length
        assert not any(ord(ch) < 32 or 0x200B <= ord(ch) <= 0x202E for ch in stored)
    if value.startswith("<script"):
        assert touch.source == value  # text, stored as given; templates escape it
    if value == "x" * 10_000:
        assert touch.source == "x" * 100 and len(touch.campaign.name) <= 120


def test_values_no_url_can_carry_are_cleaned_too():
    tracking = parse_tracking({"ref": "\ud800broken", "utm_source": ["a", "list"], "gclid": 7})
    assert (tracking.ref, tracking.source, tracking.click_id) == ("broken", "", "7")


def test_hostile_values_on_the_shop_page_never_fail_it(client, business):
    response = client.get(
        f"/s/{business.slug}/",
        {"utm_source": "x" * 10_000, "utm_campaign": "\x00\x07<b>"},
        HTTP_USER_AGENT=BROWSER,
    )
    assert response.status_code == 200
    touches.flush()
    assert Touch.objects.get().source == "x" * 100


# --- Buffer and flush (embedded default and Redis) ------------------------------------------


def test_clicks_are_buffered_then_written_once(business):
    assert click(business, utm_source="instagram", utm_medium="social", utm_campaign="natal")
    assert click(business, ip="203.0.113.99", utm_source="instagram", utm_campaign="natal")
    assert not click(business, text="no tracking here")
    assert not Touch.objects.exists()

    assert touches.flush() == 2
    assert touches.flush() == 0

    rows = list(Touch.objects.order_by("id"))
    assert [t.kind for t in rows] == ["click", "click"]
    assert len({t.visitor for t in rows}) == 2
    assert all(t.page == "shop" and t.campaign is not None for t in rows)


def test_a_flush_in_batches_writes_everything(business):
    for n in range(7):
        click(business, ip=f"203.0.113.{n}", utm_source="instagram")
    assert touches.flush(limit=3) == 7
    assert Touch.objects.count() == 7


def test_a_failed_write_keeps_the_clicks_for_the_next_flush(business, monkeypatch):
    click(business, utm_source="instagram")

    def broken(items):
        raise RuntimeError("database went away")

    monkeypatch.setattr(touches, "write_clicks", broken)
    assert touches.flush() == 0
    monkeypatch.undo()

    if isinstance(touches._buffer(), touches._RedisBuffer):
        monkeypatch.setattr(touches, "STALE_AFTER", -1)  # the claim's flusher is gone
    assert touches.flush() == 1
    assert Touch.objects.count() == 1


def test_a_click_of_a_business_deleted_since_is_dropped(business, other):
    click(other.business, utm_source="instagram")
    click(business, utm_source="instagram")
    other.business.delete()

    assert touches.flush() == 1


def test_a_signed_in_customer_s_click_belongs_to_their_contact(business):
    customer = UserFactory()
    conversation = start_chat(business, customer)
    click(business, user=customer, ip="192.0.2.1", utm_source="instagram")
    click(business, user=UserFactory(), ip="192.0.2.2", utm_source="instagram")  # no contact
    touches.flush()

    clicks = Touch.objects.filter(kind="click").order_by("id")
    assert [t.contact_id for t in clicks] == [conversation.contact_id, None]


@pytest.mark.needs_redis
def test_on_redis_concurrent_flushers_never_claim_the_same_click(business):
    import threading

    buffer = touches._buffer()
    assert isinstance(buffer, touches._RedisBuffer)
    lines = [json.dumps({"b": business.pk, "n": n}) for n in range(600)]
    for line in lines:
        buffer.push(line)
    claimed: list[str] = []
    lock = threading.Lock()

    def flusher():
        while True:
            got, key = buffer.claim(25)
            if not got:
                return
            with lock:
                claimed.extend(got)
            buffer.done(key)

    threads = [threading.Thread(target=flusher) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(claimed) == sorted(lines)
    assert buffer.pending() == 0
    assert buffer.client.zcard(buffer.claims_key) == 0


@pytest.mark.needs_redis
def test_on_redis_a_dead_flusher_s_claim_is_adopted_once_stale(business, monkeypatch):
    buffer = touches._buffer()
    click(business, utm_source="instagram")
    lines, _key = buffer.claim(10)  # a flusher claims, then dies before writing
    assert len(lines) == 1 and touches.flush() == 0  # not stale yet: left alone

    monkeypatch.setattr(touches, "STALE_AFTER", -1)
    assert touches.flush() == 1
    assert touches.flush() == 0
    assert Touch.objects.count() == 1
    assert buffer.client.zcard(buffer.claims_key) == 0


# --- Campaigns ----------------------------------------------------------------------------


def resolve(business, ref="", source="", medium="", utm_campaign=""):
    return touches.resolve_campaign(
        business_id=business.pk, ref=ref, source=source, medium=medium, utm_campaign=utm_campaign
    )


def test_a_touch_matches_the_campaign_of_its_ref_then_of_its_utm_campaign(business, other):
    natal = campaign(business, "natal")
    flyer = campaign(business, "flyer-centro")
    campaign(other.business, "pascoa")

    assert resolve(business, ref="FLYER-centro", utm_campaign="natal") == flyer
    assert resolve(business, ref="unknown", utm_campaign="Natal") == natal
    assert resolve(business, utm_campaign="natal") == natal
    pascoa = resolve(business, utm_campaign="pascoa")  # another shop's code: automatic
    assert pascoa.is_automatic and pascoa.business == business
    assert resolve(business) is None


def test_an_archived_campaign_still_matches(business):
    old = campaign(business, "verao", archived_at=timezone.now())
    assert resolve(business, ref="verao") == old


def test_unmatched_values_go_to_one_automatic_campaign_per_source_medium_campaign(business):
    first = resolve(business, source="Instagram", medium="Social", utm_campaign="Bio")
    again = resolve(business, source="instagram", medium="social", utm_campaign="bio")
    other = resolve(business, source="tiktok", utm_campaign="bio")

    assert first == again != other
    assert first.is_automatic and first.auto_key == "instagram/social/bio"
    assert first.name == "Instagram / Social / Bio" and first.channel == Channel.INSTAGRAM
    assert first.code.startswith("auto-") and first.currency == business.currency
    assert other.channel == Channel.TIKTOK
    assert resolve(business, ref="qr-vitrine").auto_key == "//qr-vitrine"


def test_an_automatic_code_taken_by_the_merchant_gets_another(business):
    key = touches.auto_key(source="ig", medium="", utm_campaign="x")
    import hashlib

    campaign(business, "auto-" + hashlib.sha256(key.encode()).hexdigest()[:10])
    auto = resolve(business, source="ig", utm_campaign="x")
    assert auto.is_automatic and auto.code != "auto-" + key


def test_a_merged_automatic_campaign_leads_to_the_real_one(business):
    real = campaign(business, "real")
    auto = resolve(business, source="ig", utm_campaign="x")
    auto.merged_into = real
    auto.archived_at = timezone.now()
    auto.save()
    assert resolve(business, source="ig", utm_campaign="x") == real


# --- Pages -------------------------------------------------------------------------------------


UTM = "?utm_source=instagram&utm_medium=social&utm_campaign=x"


def test_the_shop_page_with_tracking_parameters_comes_from_the_page_cache(
    business, django_assert_num_queries
):
    url = f"/s/{business.slug}/"
    first = Client().get(url + UTM, HTTP_USER_AGENT=BROWSER, **EN)
    assert first.status_code == 200

    with django_assert_num_queries(0):
        hit = Client().get(url + "?utm_source=other", HTTP_USER_AGENT=BROWSER, **EN)
    assert hit.status_code == 200
    html = hit.content.decode()
    assert f'name="next" value="{url}"' in html and "utm_" not in html

    assert touches.flush() == 2
    assert sorted(Touch.objects.values_list("source", flat=True)) == ["instagram", "other"]


def test_a_product_page_click_names_the_product(client, owner, business):
    product = make_product(owner, business, name="Bolo")
    response = client.get(product.get_absolute_url() + "?gclid=abc", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    client.get(f"/s/{business.slug}/p/999999/?gclid=abc", HTTP_USER_AGENT=BROWSER)  # a 404

    touches.flush()
    touch = Touch.objects.get()
    assert (touch.page, touch.product, touch.campaign) == ("product", product, None)
    assert (touch.click_id_kind, touch.click_id) == ("gclid", "abc")


def test_a_page_without_tracking_parameters_records_nothing(client, business):
    client.get(f"/s/{business.slug}/", HTTP_USER_AGENT=BROWSER)
    client.get(f"/s/{business.slug}/?via=x", HTTP_USER_AGENT=BROWSER)
    assert touches.flush() == 0


def test_a_click_to_chat_link_counts_once_across_the_sign_in(business):
    visitor = Client(HTTP_USER_AGENT=BROWSER)
    response = visitor.get(f"/c/{business.slug}?text=Oi&ref=flyer")
    assert response.status_code == 302 and "counted%3D1" in response["Location"]
    customer = UserFactory()
    visitor.force_login(customer)

    back = visitor.get(f"/c/{business.slug}?text=Oi&ref=flyer&counted=1")
    assert back.status_code == 200
    assert touches.flush() == 1
    touch = Touch.objects.get()
    assert (touch.kind, touch.page, touch.ref) == ("click", "chat", "flyer")

    # a signed-in visitor opening the link again is another click
    visitor.get(f"/c/{business.slug}?text=Oi&ref=flyer")
    assert touches.flush() == 1


# --- Conversations ----------------------------------------------------------------------------


def test_a_conversation_started_from_a_tracked_link_is_a_touch_of_its_campaign(business):
    natal = campaign(business, "natal")
    visitor = Client(HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="203.0.113.7")
    customer = UserFactory()
    visitor.force_login(customer)
    page = visitor.get(f"/c/{business.slug}?text=Oi&utm_source=ig&utm_campaign=natal&fbclid=F1")
    touch_field = page.context["form"]["touch"].value()

    visitor.post(f"/c/{business.slug}", {"body": "Oi!", "touch": touch_field})

    conversation = Conversation.objects.get(business=business)
    touch = Touch.objects.get(kind="conversation")
    assert touch.campaign == natal and touch.conversation == conversation
    assert touch.contact_id == conversation.contact_id
    assert (touch.source, touch.click_id_kind, touch.click_id) == ("ig", "fbclid", "F1")
    assert touch.visitor == visitor_hash(
        business_id=business.pk, ip="203.0.113.7", user_agent=BROWSER
    )
    # resuming the conversation is no new touch
    visitor.post(f"/c/{business.slug}", {"body": "Again", "touch": touch_field})
    assert Touch.objects.filter(kind="conversation").count() == 1


def test_a_chat_started_after_a_tracked_visit_inherits_its_campaign(business):
    click(business, ip="203.0.113.50", utm_source="instagram", utm_campaign="bio")
    touches.flush()
    clicked = Touch.objects.get()

    start_chat(business, UserFactory(), ip="203.0.113.50")
    start_chat(business, UserFactory(), ip="203.0.113.51")  # someone else

    started = Touch.objects.filter(kind="conversation").order_by("id")
    assert [t.campaign_id for t in started] == [clicked.campaign_id, None]
    assert started[0].visitor == clicked.visitor


def test_a_conversation_started_by_the_api_or_a_payment_request_has_no_visitor(business):
    conversation = start_chat(business, UserFactory(), agent="", ref="flyer")
    touch = Touch.objects.get(conversation=conversation)
    assert touch.visitor == "" and touch.ref == "flyer" and touch.campaign.is_automatic


# --- Offer broadcasts ---------------------------------------------------------------------------


def opted_in(business):
    conversation = start_chat(business, UserFactory())
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    return contact


def test_a_broadcast_is_a_campaign_of_its_own_and_its_offers_are_touches(owner, business, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = float("inf")
    contacts = [opted_in(business) for _ in range(2)]

    broadcast = marketing.create_broadcast(
        actor=owner, business=business, text="Hi {first_name}! New cakes.", audience="all"
    )

    offer = Campaign.objects.get(broadcast=broadcast)
    assert offer.code == f"offer-{broadcast.pk}" and offer.channel == Channel.BROADCAST
    assert "New cakes" in offer.name and not offer.is_automatic
    assert not Touch.objects.filter(kind="offer").exists()

    outbox.send_due()

    offers = Touch.objects.filter(kind="offer").order_by("contact_id")
    assert [t.contact_id for t in offers] == sorted(c.pk for c in contacts)
    assert all(t.campaign == offer and t.broadcast == broadcast for t in offers)
    outbox.send_due()
    assert Touch.objects.filter(kind="offer").count() == 2


def test_a_broadcast_whose_code_is_taken_still_gets_its_campaign(owner, business, settings):
    settings.BROADCAST_MESSAGES_PER_SECOND = float("inf")
    opted_in(business)

    # The next id: one more than a broadcast made just now (on PostgreSQL, ids that
    # earlier tests' rolled-back rows took are not given again).
    first = marketing.create_broadcast(actor=owner, business=business, text="Hi", audience="all")
    for n in range(first.pk + 1, first.pk + 4):
        campaign(business, f"offer-{n}")
    broadcast = marketing.create_broadcast(
        actor=owner, business=business, text="Hi", audience="all"
    )
    assert Campaign.objects.get(broadcast=broadcast).code.startswith(f"offer-{broadcast.pk}-")
