"""API tokens expire, and a password reset or change ends what the old password opened
(issue #15, item 8)."""

import datetime

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken, User
from accounts.tests.factories import UserFactory

OLD = "an-Old-passphrase-41"
NEW = "a-New-passphrase-42"


@pytest.fixture
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db, fast_hasher) -> User:
    user = UserFactory(email="ana@example.com")
    user.set_password(OLD)
    user.save()
    return user


def _api_status(raw: str) -> tuple[int, dict]:
    response = APIClient().get(
        reverse("api_me"), HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="en"
    )
    return response.status_code, response.json()


def _signed_in(user: User) -> Client:
    client = Client()
    assert client.login(email=user.email, password=OLD)
    assert client.get(reverse("api_tokens")).status_code == 200
    return client


def _is_signed_in(client: Client) -> bool:
    return client.get(reverse("api_tokens")).status_code == 200


def test_a_password_reset_revokes_the_tokens_and_ends_every_session(user):
    # given a token and a browser signed in with the old password
    _token, raw = services.create_api_token(user=user, name="sync")
    other_browser = _signed_in(user)

    # when the owner resets the password from the e-mailed link
    user.refresh_from_db()  # the link is made from the current last_login
    client = Client()
    uidb36, key = user_pk_to_url_str(user), default_token_generator.make_token(user)
    key_url = reverse("account_reset_password_from_key", kwargs={"uidb36": uidb36, "key": key})
    form_url = client.get(key_url).url
    response = client.post(form_url, {"password1": NEW, "password2": NEW})
    assert response.status_code == 302, response.content[:300]

    # then the token is refused and the other browser is signed out
    assert _api_status(raw)[0] == 401
    assert not _is_signed_in(other_browser)
    assert Client().login(email=user.email, password=NEW)


def _change_password(client: Client, **extra):
    return client.post(
        reverse("account_change_password"),
        {"oldpassword": OLD, "password1": NEW, "password2": NEW, **extra},
    )


def test_the_password_change_form_offers_to_revoke_the_tokens_ticked(user):
    client = _signed_in(user)

    response = client.get(reverse("account_change_password"))

    assert response.context["form"]["revoke_tokens"].value() is True
    assert 'name="revoke_tokens"' in response.text
    assert "checked" in str(response.context["form"]["revoke_tokens"])


def test_a_password_change_signs_out_other_sessions_and_revokes_tokens_when_ticked(user):
    # given a token, this browser and another one signed in
    _token, raw = services.create_api_token(user=user, name="sync")
    client, other_browser = _signed_in(user), _signed_in(user)

    # when the password is changed with the box left ticked
    response = _change_password(client, revoke_tokens="on")

    # then this browser stays signed in, the other is signed out, the token is refused
    assert response.status_code == 302, response.content[:300]
    assert "1 API token was revoked." in [str(m) for m in get_messages(response.wsgi_request)]
    assert _is_signed_in(client)
    assert not _is_signed_in(other_browser)
    assert _api_status(raw)[0] == 401


def test_a_password_change_keeps_the_tokens_when_unticked(user):
    _token, raw = services.create_api_token(user=user, name="sync")
    client, other_browser = _signed_in(user), _signed_in(user)

    response = _change_password(client)  # an unticked box is not sent

    assert response.status_code == 302, response.content[:300]
    assert not _is_signed_in(other_browser)
    assert _api_status(raw)[0] == 200


def test_an_expired_token_gets_a_401_that_says_so(user):
    # given a token made for 30 days, 31 days ago
    token, raw = services.create_api_token(user=user, name="sync", lifetime_days=30)
    assert _api_status(raw)[0] == 200
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=1)
    )

    # when a program uses it, then it is refused with the reason
    status, body = _api_status(raw)
    assert status == 401
    assert "expired" in body["detail"]


def test_a_new_token_expires_in_90_days_unless_the_owner_chooses(client, user):
    client.force_login(user)

    client.post(reverse("api_tokens"), {"name": "default"})
    client.post(reverse("api_tokens"), {"name": "yearly", "lifetime": "365"})
    response = client.post(reverse("api_tokens"), {"name": "forever", "lifetime": "never"})

    tokens = {t.name: t for t in ApiToken.objects.filter(user=user)}
    assert (tokens["default"].expires_at - tokens["default"].created_at).days == 90
    assert (tokens["yearly"].expires_at - tokens["yearly"].created_at).days == 365
    assert tokens["forever"].expires_at is None
    assert any("never expires" in str(m) for m in get_messages(response.wsgi_request))


def test_a_lifetime_not_offered_is_refused_with_a_message(client, user):
    client.force_login(user)

    response = client.post(reverse("api_tokens"), {"name": "odd", "lifetime": "7"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not ApiToken.objects.exists()


def test_the_tokens_page_shows_when_each_token_was_last_used_and_expires(client, user):
    # given a token never used
    token, raw = services.create_api_token(user=user, name="sync")
    client.force_login(user)
    assert "Never used" in client.get(reverse("api_tokens")).text

    # when a program uses it twice within a minute
    _api_status(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    _api_status(raw)

    # then the page shows that use (written once, not per request) and the expiry
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    page = client.get(reverse("api_tokens")).text
    assert "Never used" not in page
    assert f'datetime="{timezone.localtime(first).strftime("%Y-%m-%dT%H:%M:%S%z")}"' in page
    assert "Expires" in page
