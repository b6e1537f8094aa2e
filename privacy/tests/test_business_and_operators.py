"""A business erases a contact (owners and admins, audited; outsiders: not found),
the operators' admin list, and the public privacy page."""

import pytest
from django.urls import reverse

from chats.models import ContactNote, Message
from payments.models import Order
from payments.tests.factories import PIN
from privacy.models import PrivacyRequest
from privacy.services import erasure
from privacy.tests.conftest import EMAIL, NAME

pytestmark = pytest.mark.django_db


def test_a_business_erases_its_contact_and_it_is_audited(person, owner, business, client):
    url = reverse("privacy_contact_erase", args=[business.slug, person.contact.pk])
    client.force_login(owner)
    client.post(url, HTTP_ACCEPT_LANGUAGE="en")  # not confirmed: nothing happens
    assert ContactNote.objects.filter(contact=person.contact).exists()
    assert client.post(url, {"confirm": "1"}).status_code == 302

    assert not ContactNote.objects.filter(contact=person.contact).exists()
    shop = Message.objects.filter(conversation=person.conversation, author=person.user)
    assert set(shop.values_list("kind", "body")) == {(erasure.REMOVED_KIND, "")}
    assert (
        Message.objects.filter(conversation=person.direct, author=person.user)
        .exclude(kind=erasure.REMOVED_KIND)
        .exists()
    )  # another chat, not this business's: untouched
    assert Order.objects.get(pk=person.order.pk).total == 4500
    audit = client.get(
        reverse("privacy_business_audit", args=[business.slug]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Contact erasure" in audit and erasure.pseudonym_key(person.user.pk) in audit
    assert EMAIL not in audit


def test_outsiders_and_agents_cannot_erase(person, business, other, agent, outsider, client):
    url = reverse("privacy_contact_erase", args=[business.slug, person.contact.pk])
    for user in (other.owner, agent, outsider):
        client.force_login(user)
        assert client.post(url, {"confirm": "1"}).status_code == 404
    client.force_login(other.owner)
    wrong = reverse("privacy_contact_erase", args=[other.business.slug, person.contact.pk])
    assert client.post(wrong, {"confirm": "1"}).status_code == 404
    assert client.get(reverse("privacy_business_audit", args=[business.slug])).status_code == 404
    assert ContactNote.objects.filter(contact=person.contact).exists()
    assert not PrivacyRequest.objects.exists()


def test_the_customer_panel_offers_the_actions_to_owners_only(
    person, owner, agent, business, client
):
    page_url = reverse("inbox_thread", args=[business.slug, person.conversation.pk])
    client.force_login(owner)
    page = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Export this contact's data" in page and "Erase this contact" in page
    client.force_login(agent)
    page = client.get(page_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Erase this contact" not in page


def test_the_admin_lists_requests_without_personal_data(person, admin_client, admin_user):
    admin_user.language = "en"  # the assertions below read English
    admin_user.save(update_fields=["language"])
    erasure.delete_account(user=person.user, password="password", pin=PIN)
    key = erasure.pseudonym_key(person.user.pk)
    url = reverse("admin:privacy_privacyrequest_changelist")
    page = admin_client.get(url, {"q": key}).content.decode()
    assert key in page and "Account deletion" in page
    request = PrivacyRequest.objects.get()
    detail = admin_client.get(
        reverse("admin:privacy_privacyrequest_change", args=[request.pk])
    ).content.decode()
    for needle in (EMAIL, NAME, "Zephyrine"):
        assert needle not in page and needle not in detail
    user_page = admin_client.get(reverse("admin:accounts_user_change", args=[person.user.pk]))
    assert "Zephyrine" not in user_page.content.decode()


def test_the_public_page_is_linked_from_the_footer_and_reads_the_settings(client, settings):
    settings.PRIVACY_EXPORT_TTL_DAYS = 9
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("privacy_policy") in home
    page = client.get(reverse("privacy_policy"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Privacy at Conversa" in page and "9 days" in page
    assert "until the end of the fifth calendar year after the payment" in page
    settings.FINANCIAL_RETENTION_DAYS = 2000
    page = client.get(reverse("privacy_policy"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2000 days after the payment" in page


@pytest.mark.parametrize(
    ("accept", "lang", "privacy", "home"),
    [
        ("fr", "fr", "La confidentialité chez Conversa", "vendez dans la conversation"),
        ("es-ES,es;q=0.9,en;q=0.8", "es", "La privacidad en Conversa", "vende en el chat"),
    ],
)
def test_an_anonymous_visitor_reads_the_browsers_language(
    client, settings, accept, lang, privacy, home
):
    """No cookie, no session: Accept-Language chooses (LocaleMiddleware); neither page
    is kept in the public page cache (catalog's shop pages are, keyed by language:
    catalog/tests/test_page_cache.py)."""
    for url, text in ((reverse("privacy_policy"), privacy), ("/", home)):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept)
        page = response.content.decode()
        assert f'<html lang="{lang}"' in page and text in page
        assert "Accept-Language" in response["Vary"]
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies  # nor the session's
    assert settings.SESSION_COOKIE_NAME not in client.cookies


def test_a_removed_message_reads_in_the_readers_language():
    """An erased message keeps no words of its own: each reader sees "Message removed"
    in their language (rendered from the kind, not stored text)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    from chats import kinds

    kind = kinds.get(erasure.REMOVED_KIND)
    with translation.override("pt-br"):
        html = render_to_string(kind.template, {"message": None})
        assert "Mensagem removida" in html
    with translation.override("en"):
        assert "Message removed" in render_to_string(kind.template, {"message": None})
