"""The merchant's chat settings (greeting, away message, quick replies, labels) and the
click-to-chat link with its QR code: permissions, validation, and pages that keep the
strict CSP. People come from the root conftest (owner, admin, agent, outsider, other)."""

import datetime
import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from accounts import services as account_services
from chats.models import InboxSettings, Label, QuickReply
from chats.services import settings as chat_settings

pytestmark = pytest.mark.django_db


def _settings_url(business):
    return reverse("inbox_settings", kwargs={"slug": business.slug})


def _link_url(business):
    return reverse("chat_link", kwargs={"slug": business.slug})


def _qr_url(business):
    return reverse("chat_link_qr", kwargs={"slug": business.slug})


def _assert_no_inline_code(page: str) -> None:
    """The strict CSP blocks inline styles, scripts and event handlers."""
    assert " style=" not in page
    assert not re.search(r"<style\b", page, flags=re.I)
    assert not re.search(r"\son\w+=", page, flags=re.I)
    for body in re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.S | re.I):
        assert body.strip() == ""


def _field_error(page: str, message: str, field_id: str) -> bool:
    """``message`` is shown right after the field ``field_id`` (partials/field.html)."""
    start = page.find(f'id="{field_id}"')
    return start != -1 and message in page[start : start + 1500]


@pytest.fixture
def quick_reply(business, owner):
    return chat_settings.save_quick_reply(
        actor=owner, business=business, shortcut="hello", text="Hi! How can we help?"
    )


@pytest.fixture
def label(business, owner):
    return chat_settings.create_label(actor=owner, business=business, name="VIP", color="purple")


# --- Who may see what -------------------------------------------------------------------


def test_admins_and_owners_see_the_settings_page(client, business, owner, admin):
    for user in (owner, admin):
        client.force_login(user)

        response = client.get(_settings_url(business))

        assert response.status_code == 200
        assert "Greeting and away messages" in response.text
        _assert_no_inline_code(response.text)


def test_an_agent_an_outsider_and_a_signed_out_visitor_do_not(client, business, agent, outsider):
    assert client.get(_settings_url(business)).status_code == 302  # to sign in

    for user in (agent, outsider):
        client.force_login(user)
        assert client.get(_settings_url(business)).status_code == 404
        assert client.post(_settings_url(business), {"form": "label", "name": "X"}).status_code == (
            404
        )
    assert not Label.objects.exists()


def test_an_admin_of_another_business_gets_not_found(client, business, other):
    client.force_login(other.admin)

    assert client.get(_settings_url(business)).status_code == 404
    assert client.get(_link_url(business)).status_code == 404
    assert client.get(_qr_url(business)).status_code == 404


def test_another_businesss_quick_reply_and_label_are_not_found(
    client, business, owner, quick_reply, label, other
):
    client.force_login(other.owner)
    slug = other.business.slug

    edit = reverse("quick_reply_edit", kwargs={"slug": slug, "reply_id": quick_reply.pk})
    assert client.get(edit).status_code == 404
    assert client.post(edit, {"shortcut": "x", "text": "hacked"}).status_code == 404
    delete = reverse("quick_reply_delete", kwargs={"slug": slug, "reply_id": quick_reply.pk})
    assert client.post(delete).status_code == 404
    assert client.post(
        reverse("label_delete", kwargs={"slug": slug, "label_id": label.pk})
    ).status_code == (404)

    quick_reply.refresh_from_db()
    assert quick_reply.text == "Hi! How can we help?"
    assert Label.objects.filter(pk=label.pk).exists()


def test_an_agent_cannot_edit_or_delete_quick_replies_or_labels(
    client, business, agent, quick_reply, label
):
    client.force_login(agent)
    slug = business.slug

    assert (
        client.get(
            reverse("quick_reply_edit", kwargs={"slug": slug, "reply_id": quick_reply.pk})
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("quick_reply_delete", kwargs={"slug": slug, "reply_id": quick_reply.pk})
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("label_delete", kwargs={"slug": slug, "label_id": label.pk})
        ).status_code
        == 404
    )
    assert QuickReply.objects.filter(pk=quick_reply.pk).exists()
    assert Label.objects.filter(pk=label.pk).exists()


def test_deleting_needs_a_post(client, business, owner, quick_reply, label):
    client.force_login(owner)
    slug = business.slug

    assert (
        client.get(
            reverse("quick_reply_delete", kwargs={"slug": slug, "reply_id": quick_reply.pk})
        ).status_code
        == 405
    )
    assert (
        client.get(reverse("label_delete", kwargs={"slug": slug, "label_id": label.pk})).status_code
        == 405
    )


# --- Greeting and away messages ----------------------------------------------------------


def test_the_greeting_and_away_message_are_saved(client, business, admin):
    client.force_login(admin)

    response = client.post(
        _settings_url(business),
        {
            "form": "auto_replies",
            "greeting_enabled": "on",
            "greeting_text": "Welcome to Padaria Central!",
            "away_enabled": "on",
            "away_text": "We are closed; we answer in the morning.",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0].endswith("#auto-replies")
    assert "Greeting and away messages saved." in response.text
    inbox = InboxSettings.objects.get(business=business)
    assert inbox.greeting_enabled and inbox.away_enabled
    assert inbox.greeting_text == "Welcome to Padaria Central!"
    assert inbox.away_text == "We are closed; we answer in the morning."
    # The page shows what was saved.
    assert "Welcome to Padaria Central!" in response.text


def test_switching_a_message_on_without_its_text_is_refused(client, business, owner):
    client.force_login(owner)

    response = client.post(
        _settings_url(business),
        {"form": "auto_replies", "greeting_enabled": "on", "greeting_text": "   "},
    )

    assert response.status_code == 400
    assert _field_error(response.text, "Write the message to send.", "id_greeting_text")
    inbox = InboxSettings.objects.filter(business=business).first()
    # (The service may leave an empty settings row: the defaults, which send nothing.)
    assert inbox is None or not (inbox.greeting_enabled or inbox.greeting_text)


def test_a_refused_change_keeps_the_saved_settings(client, business, owner):
    chat_settings.update_inbox_settings(
        actor=owner, business=business, greeting_enabled=True, greeting_text="Hello!"
    )
    client.force_login(owner)

    response = client.post(
        _settings_url(business),
        {"form": "auto_replies", "greeting_text": "Changed", "away_enabled": "on"},
    )

    assert response.status_code == 400
    assert _field_error(response.text, "Write the message to send.", "id_away_text")
    inbox = InboxSettings.objects.get(business=business)
    assert (inbox.greeting_enabled, inbox.greeting_text, inbox.away_enabled) == (
        True,
        "Hello!",
        False,
    )


def test_an_overlong_message_is_refused_on_its_field(client, business, owner):
    client.force_login(owner)

    response = client.post(
        _settings_url(business),
        {"form": "auto_replies", "away_enabled": "on", "away_text": "x" * 1001},
    )

    assert response.status_code == 400
    assert _field_error(response.text, "at most 1000 characters", "id_away_text")
    inbox = InboxSettings.objects.filter(business=business).first()
    assert inbox is None or not (inbox.away_enabled or inbox.away_text)


def test_the_page_says_when_the_away_message_is_never_sent(client, business, owner):
    client.force_login(owner)
    hours_link = reverse("business_settings", kwargs={"slug": business.slug}) + "#hours"

    page = client.get(_settings_url(business)).text

    assert "so the away message is never sent" in page
    assert hours_link in page
    assert "at most once per conversation every 12 hours" in page

    account_services.set_opening_hours(
        actor=owner, business=business, hours=[(0, datetime.time(9), datetime.time(18))]
    )
    page = client.get(_settings_url(business)).text

    assert "so the away message is never sent" not in page
    assert hours_link in page


def test_an_unknown_form_changes_nothing(client, business, owner):
    client.force_login(owner)

    response = client.post(_settings_url(business), {"form": "nope", "name": "X"}, follow=True)

    assert response.status_code == 200
    assert "Choose which settings to save." in response.text
    assert not Label.objects.exists()
    assert client.post(_settings_url(business), {}).status_code == 302


# --- Quick replies --------------------------------------------------------------------------


def test_a_quick_reply_is_added_listed_edited_and_deleted(client, business, owner):
    client.force_login(owner)

    response = client.post(
        _settings_url(business),
        {"form": "quick_reply", "shortcut": "/Hours", "text": "We open 9–18."},
        follow=True,
    )

    assert "Quick reply /hours added." in response.text
    reply = QuickReply.objects.get(business=business)
    assert (reply.shortcut, reply.text) == ("hours", "We open 9–18.")
    assert "<code>/hours</code>" in response.text
    edit_url = reverse("quick_reply_edit", kwargs={"slug": business.slug, "reply_id": reply.pk})
    assert edit_url in response.text

    page = client.get(edit_url)
    assert page.status_code == 200
    assert 'value="hours"' in page.text
    _assert_no_inline_code(page.text)

    response = client.post(
        edit_url, {"shortcut": "opening", "text": "We open 8–20 now."}, follow=True
    )
    assert "Quick reply /opening saved." in response.text
    reply.refresh_from_db()
    assert (reply.shortcut, reply.text) == ("opening", "We open 8–20 now.")

    delete_url = reverse("quick_reply_delete", kwargs={"slug": business.slug, "reply_id": reply.pk})
    response = client.get(_settings_url(business))
    assert f'action="{delete_url}"' in response.text
    assert "data-confirm=" in response.text
    response = client.post(delete_url, follow=True)
    assert "Quick reply /opening deleted." in response.text
    assert not QuickReply.objects.exists()


def test_a_duplicate_shortcut_is_shown_on_the_shortcut_field(client, business, owner, quick_reply):
    client.force_login(owner)

    response = client.post(
        _settings_url(business), {"form": "quick_reply", "shortcut": "HELLO", "text": "Again"}
    )

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.text
    start = response.text.index('id="id_shortcut"')
    assert "field-error" in response.text[start : start + 1500]
    assert QuickReply.objects.count() == 1


def test_editing_into_another_shortcut_is_refused(client, business, owner, quick_reply):
    other_reply = chat_settings.save_quick_reply(
        actor=owner, business=business, shortcut="bye", text="Bye!"
    )
    client.force_login(owner)
    url = reverse("quick_reply_edit", kwargs={"slug": business.slug, "reply_id": other_reply.pk})

    response = client.post(url, {"shortcut": "hello", "text": "Bye!"})

    assert response.status_code == 400
    assert "Edit /bye" in response.text  # the heading keeps the saved shortcut
    other_reply.refresh_from_db()
    assert other_reply.shortcut == "bye"


@pytest.mark.parametrize(
    ("shortcut", "text"),
    [("two words", "Hi"), ("", "Hi"), ("ok", ""), ("x" * 40, "Hi"), ("ok", "x" * 5000)],
)
def test_a_bad_quick_reply_is_refused_with_a_message(client, business, owner, shortcut, text):
    client.force_login(owner)

    response = client.post(
        _settings_url(business), {"form": "quick_reply", "shortcut": shortcut, "text": text}
    )

    assert response.status_code == 400
    assert "field-error" in response.text
    assert not QuickReply.objects.exists()


# --- Labels ---------------------------------------------------------------------------------


def test_a_label_is_added_and_deleted(client, business, admin):
    client.force_login(admin)

    response = client.post(
        _settings_url(business), {"form": "label", "name": "Paid", "color": "green"}, follow=True
    )

    assert "Label “Paid” added." in response.text
    label = Label.objects.get(business=business)
    assert (label.name, label.color) == ("Paid", "green")
    assert 'class="swatch swatch-green"' in response.text
    _assert_no_inline_code(response.text)

    response = client.post(
        reverse("label_delete", kwargs={"slug": business.slug, "label_id": label.pk}), follow=True
    )
    assert "Label “Paid” deleted." in response.text
    assert not Label.objects.exists()


def test_a_duplicate_label_name_is_shown_on_the_name_field(client, business, owner, label):
    client.force_login(owner)

    response = client.post(
        _settings_url(business), {"form": "label", "name": "VIP", "color": "red"}
    )

    assert response.status_code == 400
    start = response.text.index('id="id_name"')
    assert "field-error" in response.text[start : start + 1500]
    assert Label.objects.count() == 1


@pytest.mark.parametrize(
    ("name", "color"), [("", "green"), ("x" * 41, "green"), ("Ok", "pink"), ("<b>x</b>", "red")]
)
def test_a_bad_label_is_refused_with_a_message(client, business, owner, name, color):
    client.force_login(owner)

    response = client.post(_settings_url(business), {"form": "label", "name": name, "color": color})

    assert response.status_code == 400
    assert "field-error" in response.text
    assert not Label.objects.exists()


# --- The click-to-chat link and its QR code ----------------------------------------------------


def test_every_team_member_sees_the_chat_link(client, business, owner, agent):
    base = settings.SITE_URL + reverse("click_to_chat", kwargs={"slug": business.slug})
    for user in (owner, agent):
        client.force_login(user)

        response = client.get(_link_url(business))

        assert response.status_code == 200
        assert f'<p class="secret" id="chat-link-url">{base}</p>' in response.text
        assert 'data-copy="chat-link-url"' in response.text
        assert f'src="{_qr_url(business)}"' in response.text
        assert 'alt="QR code for the chat link"' in response.text
        _assert_no_inline_code(response.text)


def test_an_outsider_does_not_see_the_chat_link(client, business, outsider):
    client.force_login(outsider)

    assert client.get(_link_url(business)).status_code == 404
    assert client.get(_qr_url(business)).status_code == 404


def test_the_builder_encodes_the_query(client, business, agent):
    client.force_login(agent)
    params = {
        "text": "Olá! Quero 2 pães & 1 café?",
        "ref": "flyer #3",
        "utm_source": "instagram",
        "utm_medium": "",
        "utm_campaign": "natal/2025",
        "unknown": "dropped",
    }

    response = client.get(_link_url(business), params)

    page = response.text
    link = html.unescape(re.search(r'id="chat-link-url">([^<]*)<', page).group(1))
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == settings.SITE_URL
    assert parts.path == reverse("click_to_chat", kwargs={"slug": business.slug})
    assert " " not in link and "#" not in link.split("?", 1)[1]
    assert parse_qs(parts.query) == {
        "text": ["Olá! Quero 2 pães & 1 café?"],
        "ref": ["flyer #3"],
        "utm_source": ["instagram"],
        "utm_campaign": ["natal/2025"],
    }
    # The QR image and the download are built from the same query.
    qr_src = html.unescape(re.search(r'<img src="([^"]*)"', page).group(1))
    assert urlsplit(qr_src).path == _qr_url(business)
    assert parse_qs(urlsplit(qr_src).query) == parse_qs(parts.query)
    download = html.unescape(re.search(r'<a href="([^"]*)" download>', page).group(1))
    assert parse_qs(urlsplit(download).query) == parse_qs(parts.query) | {"download": ["1"]}
    # The builder shows the values back.
    assert 'value="flyer #3"' in page


def test_oversized_parameters_are_cut(client, business, agent):
    client.force_login(agent)

    response = client.get(
        _link_url(business), {"text": "a" * 5000, "ref": "r" * 500, "utm_source": "s\x00" * 300}
    )

    assert response.status_code == 200
    link = html.unescape(re.search(r'id="chat-link-url">([^<]*)<', response.text).group(1))
    query = parse_qs(urlsplit(link).query)
    assert query["text"] == ["a" * 500]
    assert query["ref"] == ["r" * 100]
    assert query["utm_source"] == ["s" * 100]


def test_the_qr_code_is_an_svg_of_the_link(client, business, agent):
    client.force_login(agent)

    plain = client.get(_qr_url(business))
    with_text = client.get(_qr_url(business), {"text": "Hi", "ref": "flyer"})

    for response in (plain, with_text):
        assert response.status_code == 200
        assert response["Content-Type"] == "image/svg+xml"
        body = response.content.decode()
        assert body.startswith("<?xml") or body.startswith("<svg")
        assert "<svg" in body and body.rstrip().endswith("</svg>")
        assert "Content-Disposition" not in response
    # The link is the SVG's title, so the code and the page agree.
    base = settings.SITE_URL + reverse("click_to_chat", kwargs={"slug": business.slug})
    assert f"<title>{base}</title>" in plain.content.decode()
    assert "text=Hi&amp;ref=flyer" in with_text.content.decode()
    assert plain.content != with_text.content


def test_the_qr_code_downloads_as_a_file(client, business, agent):
    client.force_login(agent)

    response = client.get(_qr_url(business), {"ref": "x", "download": "1"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="chat-link-{business.slug}.svg"'
    )


def test_oversized_qr_parameters_never_fail(client, business, agent):
    client.force_login(agent)

    # 500 emoji are 6000 characters once encoded: more than a QR code holds.
    too_long = client.get(_link_url(business), {"text": "😀" * 5000})
    qr = client.get(_qr_url(business), {"text": "😀" * 5000, "ref": "r" * 10_000})
    cut = client.get(_qr_url(business), {"text": "a" * 5000, "utm_campaign": "c" * 10_000})

    assert too_long.status_code == 200
    assert "The link is too long for a QR code." in too_long.text
    assert "<img" not in too_long.text.split('id="qr"', 1)[1].split("</article>", 1)[0]
    assert qr.status_code == 400
    assert cut.status_code == 200
    assert cut["Content-Type"] == "image/svg+xml"
