"""Marketing pages: rules and broadcasts in the dashboard (admins and owners; anyone
else, or another business's id, is "not found"), the rating tap, the offers switch in
the chat and the pay form's consent box."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from chats.models import Contact, Message
from chats.services import consent, outbox
from chats.tests.factories import start_chat
from marketing import services
from marketing.models import Broadcast, FollowUpRule, SatisfactionRating
from payments.services import shipping
from payments.tests.factories import PIN, card_for

pytestmark = pytest.mark.django_db


def test_rules_page_for_admins_only(client, owner, admin, agent, outsider, other, business):
    url = reverse("followups", args=[business.slug])
    for user, status in [(owner, 200), (admin, 200), (agent, 404), (outsider, 404),
                         (other.owner, 404)]:  # fmt: skip
        client.force_login(user)
        assert client.get(url).status_code == status, user
    client.force_login(owner)
    html = client.get(url).content.decode()
    assert "How is the {product} working out for you?" in html  # the default rule


def test_a_bad_rule_is_refused_with_the_reason(client, owner, business):
    client.force_login(owner)
    url = reverse("followups", args=[business.slug])
    data = {"trigger": "delivered", "delay_days": 3, "text": "Hi {nome}", "is_active": "on"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Unknown placeholder {nome}" in response.content.decode()
    response = client.post(url, data | {"text": "Hi", "delay_days": 120})
    assert response.status_code == 400
    assert not FollowUpRule.objects.filter(business=business, is_default=False).exists()


def test_preview_then_save_a_rule(client, owner, business):
    client.force_login(owner)
    url = reverse("followups", args=[business.slug])
    data = {"trigger": "shipped", "delay_days": 1, "text": "Oi {first_name}, #{order_number}",
            "is_active": "on"}  # fmt: skip
    preview = client.post(url, data | {"preview": "1"})
    assert preview.status_code == 200 and "Oi Carla, #42" in preview.content.decode()
    assert not FollowUpRule.objects.filter(trigger="shipped").exists()
    saved = client.post(url, data)
    assert saved.status_code == 302
    assert FollowUpRule.objects.get(business=business, trigger="shipped").delay_days == 1


def test_htmx_preview(client, owner, business, agent):
    client.force_login(owner)
    url = reverse("template_preview", args=[business.slug])
    good = client.post(url, {"text": "{business} says hi"})
    assert "Padaria Central says hi" in good.content.decode()
    bad = client.post(url, {"text": "<script>x</script>"})
    assert "plain text" in bad.content.decode() and "<script>" not in bad.content.decode()
    broadcast_bad = client.post(url, {"text": "{product}", "for": "broadcast"})
    assert "Unknown placeholder" in broadcast_bad.content.decode()
    client.force_login(agent)
    assert client.post(url, {"text": "x"}).status_code == 404


def test_another_business_rule_is_not_found(client, owner, business, other):
    services.ensure_default_rule(other.business)
    foreign = FollowUpRule.objects.get(business=other.business)
    client.force_login(owner)
    assert client.get(reverse("followup_edit", args=[business.slug, foreign.pk])).status_code == 404
    delete = reverse("followup_delete", args=[business.slug, foreign.pk])
    assert client.post(delete).status_code == 404
    assert FollowUpRule.objects.filter(pk=foreign.pk).exists()


def test_broadcast_pages(client, owner, business, other, agent):
    conversation = start_chat(business)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    client.force_login(owner)
    url = reverse("broadcasts", args=[business.slug])
    assert "1 contact accepts your offers" in client.get(url).content.decode()
    response = client.post(url, {"text": "Oi {first_name}!", "audience": "all"})
    assert response.status_code == 302
    broadcast = Broadcast.objects.get()
    assert response["Location"] == reverse("broadcast_detail", args=[business.slug, broadcast.pk])
    page = client.get(response["Location"]).content.decode()
    assert "<progress" in page and 'hx-trigger="every 2s"' in page and "0 sent" in page
    outbox.send_due()
    progress = client.get(reverse("broadcast_progress", args=[business.slug, broadcast.pk]))
    html = progress.content.decode()
    assert "1 sent" in html and "Sending finished" in html and "hx-trigger" not in html
    # another business's broadcast, or a staff member below admin: not found
    client.force_login(other.owner)
    for name in ("broadcast_detail", "broadcast_progress"):
        assert (
            client.get(reverse(name, args=[other.business.slug, broadcast.pk])).status_code == 404
        )
        assert client.get(reverse(name, args=[business.slug, broadcast.pk])).status_code == 404
    client.force_login(agent)
    assert client.get(url).status_code == 404


def test_cancel_a_broadcast_from_its_page(client, owner, business, agent, other):
    # given a broadcast due tomorrow to one contact
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    conversation = start_chat(business)
    contact = Contact.objects.get(pk=conversation.contact_id)
    consent.grant_offers_consent(customer=contact.user, contact=contact, source="chat")
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    broadcast = services.create_broadcast(
        actor=owner, business=business, text="Oi", audience="all", send_at=tomorrow
    )
    url = reverse("broadcast_cancel", args=[business.slug, broadcast.pk])
    # agents and another business's owner: not found
    for user in (agent, other.owner):
        client.force_login(user)
        assert client.post(url).status_code == 404
    # when the owner cancels it
    client.force_login(owner)
    page = client.get(reverse("broadcast_detail", args=[business.slug, broadcast.pk]))
    assert "Cancel broadcast" in page.content.decode()
    response = client.post(url, follow=True)
    # then it shows canceled, its offer skipped, and no cancel button any more
    html = response.content.decode()
    assert "Broadcast canceled" in html and "1 skipped" in html
    assert "Cancel broadcast" not in html
    assert Broadcast.objects.get().canceled_at is not None
    # canceling a sent one says why not
    again = services.create_broadcast(actor=owner, business=business, text="Oi", audience="all")
    outbox.send_due()
    response = client.post(reverse("broadcast_cancel", args=[business.slug, again.pk]), follow=True)
    assert "nothing left to cancel" in response.content.decode()


def test_a_bad_broadcast_form_is_refused(client, owner, business):
    client.force_login(owner)
    url = reverse("broadcasts", args=[business.slug])
    response = client.post(url, {"text": "Oi {nome}", "audience": "all"})
    assert response.status_code == 400 and "Unknown placeholder" in response.content.decode()
    response = client.post(url, {"text": "Oi", "audience": "label", "label": "99999"})
    assert response.status_code == 400
    assert not Broadcast.objects.exists()


@pytest.fixture
def checkin(owner, paid_order, settings):
    settings.FOLLOWUP_DAY_SECONDS = 0
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=paid_order)
    outbox.send_due()
    return Message.objects.get(conversation=paid_order.conversation, kind="followup")


def test_the_customer_taps_a_rating(client, customer, owner, outsider, checkin):
    url = reverse("followup_rate", args=[checkin.pk])
    for user in (outsider, owner):
        client.force_login(user)
        assert client.post(url, {"score": "5"}).status_code == 404
    client.force_login(customer)
    assert client.post(url, {"score": "9"}).status_code == 302
    assert not SatisfactionRating.objects.exists()
    response = client.post(url, {"score": "5"})
    assert response.status_code == 302
    assert SatisfactionRating.objects.get().score == 5
    thread = client.get(response["Location"]).content.decode()
    assert "Rated 5 out of 5" in thread and "Thank you for your rating!" in thread
    assert client.post(url, {"score": "1"}).status_code == 302
    assert SatisfactionRating.objects.get().score == 5
    assert client.post(reverse("followup_rate", args=[10**9]), {"score": "5"}).status_code == 404


def test_the_chat_switch_gives_and_withdraws_consent(client, business, owner):
    conversation = start_chat(business)
    contact = Contact.objects.get(pk=conversation.contact_id)
    url = reverse("chat_offers", args=[conversation.pk])
    client.force_login(owner)  # staff cannot opt a customer in
    assert client.post(url, {"offers": "1"}).status_code == 404
    client.force_login(contact.user)
    thread = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert "Receive offers from Padaria Central" in thread
    assert client.post(url, {"offers": "1"}).status_code == 302
    contact.refresh_from_db()
    assert contact.accepts_offers and contact.offers_consent_source == "chat"
    thread = client.get(reverse("chat_thread", args=[conversation.pk])).content.decode()
    assert "Stop offers from Padaria Central" in thread
    client.post(url, {"offers": "0"})
    contact.refresh_from_db()
    assert not contact.accepts_offers and contact.offers_opt_out_source == "chat"


def test_the_pay_form_box_records_consent(client, shop, customer):
    order, _product = shop
    card = card_for(customer)
    client.force_login(customer)
    page = client.get(reverse("order_review", args=[order.pk])).content.decode()
    assert "Send me this shop&#x27;s offers" in page or "Send me this shop's offers" in page
    data = {"card": card.pk, "confirmation": "pin", "pin": PIN, "attempt": uuid.uuid4().hex,
            "offers": "on"}  # fmt: skip
    assert client.post(reverse("order_pay", args=[order.pk]), data).status_code == 302
    contact = Contact.objects.get(conversation__pk=order.conversation_id)
    assert contact.accepts_offers and contact.offers_consent_source == "payment"
