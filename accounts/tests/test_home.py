"""Where people land: a customer on their own home (their chats, shops to discover),
a merchant's team on their businesses; opening a shop is a secondary action."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from chats.tests.factories import say, start_chat

PASSWORD = "a-long-Passphrase-42"

pytestmark = pytest.mark.django_db


def _sign_in(client, user):
    user.set_password(PASSWORD)
    user.save()
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def test_a_customer_lands_on_their_home_with_their_chats(client, business, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    customer = UserFactory(display_name="Dora Reis")
    say(customer, start_chat(business, customer), "Do you bake on Sundays?")

    response = _sign_in(client, customer)

    assert response.status_code == 302 and response["Location"] == reverse("home")
    page = client.get(reverse("home")).content.decode()
    assert "Hello, Dora" in page and "Your chats" in page
    assert "Padaria Central" in page and "Do you bake on Sundays?" in page
    assert "Your businesses" not in page and "Open your shop" in page


def test_a_team_member_lands_on_their_businesses(client, owner, business, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    response = _sign_in(client, owner)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard_home")
    page = client.get(reverse("home")).content.decode()
    assert "Your businesses" in page


def test_next_still_wins(client, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    customer = UserFactory()
    _sign_in(client, customer)
    client.logout()
    response = client.post(
        reverse("account_login") + "?next=/wallet/", {"login": customer.email, "password": PASSWORD}
    )
    assert response["Location"] == "/wallet/"


def test_the_home_of_a_new_customer_says_how_to_start(client):
    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert "No chats yet" in page and "Chat with a friend" in page


def test_a_stranger_sees_the_landing_page(client):
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sell where your customers talk." in page and "Your chats" not in page
