"""Failed sign-ins are throttled per account and address, and per address, never per
account alone: an attacker cannot keep an owner out (issue #15, item 9). The counters
live in the cache: Redis when REDIS_URL is set (CI), else the process's memory."""

import re

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts import throttle
from accounts.tests.factories import UserFactory
from core.models import OutgoingEmail

PASSWORD = "a-long-Passphrase-42"
ATTACKER, OWNER = "203.0.113.7", "198.51.100.20"


@pytest.fixture(autouse=True)
def _no_throttle_left_from_earlier(settings):
    """Counters outlive a test in Redis: start from none (throttle keys only)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        for pattern in ("allauth:rl:*", "login:*"):
            for key in client.scan_iter(f"{prefix}:*:{pattern}"):
                client.delete(key)
        client.close()
    else:
        cache.clear()


@pytest.fixture
def owner(db):
    user = UserFactory(email="owner@example.com", language="en")  # its mails in English
    user.set_password(PASSWORD)
    user.save()
    return user


def _sign_in(address: str, email: str, password: str, client: Client | None = None):
    client = client or Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_an_attacker_at_one_address_cannot_lock_the_owner_out_at_another(owner):
    # given an attacker who tried ten wrong passwords from one address
    for n in range(10):
        _sign_in(ATTACKER, owner.email, f"wrong-{n}")

    # when the owner signs in from their own address, then they get in
    response = _sign_in(OWNER, owner.email, PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("home")  # signed in (no business: their own home)


def test_the_throttled_address_gets_a_429_with_retry_after_on_the_sign_in_page(owner):
    # when an attacker tries ten wrong passwords
    answers = [_sign_in(ATTACKER, owner.email, f"wrong-{n}") for n in range(10)]

    # then the first five were plain refusals, the rest a 429 with Retry-After
    assert [r.status_code for r in answers] == [200] * 5 + [429] * 5
    throttled = answers[-1]
    assert 0 < int(throttled["Retry-After"]) <= 5 * 60
    assert "Too many failed sign-ins to this account from your network" in throttled.text
    assert '<form method="post"' in throttled.text  # the sign-in page, in the layout
    assert "<nav" in throttled.text

    # and even the right password from there waits
    assert _sign_in(ATTACKER, owner.email, PASSWORD).status_code == 429


def test_one_address_is_limited_across_accounts_more_loosely(db):
    # when an address tries twenty accounts once each
    answers = [_sign_in(ATTACKER, f"someone{n}@example.com", "guess") for n in range(21)]

    # then the twenty-first attempt waits
    assert [r.status_code for r in answers[:20]] == [200] * 20
    assert answers[20].status_code == 429
    assert int(answers[20]["Retry-After"]) > 0


def _unlock_mails(owner) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=owner.email))


def test_an_account_under_attack_from_many_addresses_mails_its_owner_an_unlock_link_once(
    owner,
):
    # given failures from two addresses: no mail yet
    for address in ("203.0.113.1", "203.0.113.2"):
        _sign_in(address, owner.email, "wrong")
    assert _unlock_mails(owner) == []

    # when a third address fails, and then more
    for address in ("203.0.113.3", "203.0.113.4", "203.0.113.5", "203.0.113.3"):
        _sign_in(address, owner.email, "wrong")

    # then the owner got exactly one e-mail, with a link
    (mail,) = _unlock_mails(owner)
    assert "trying to sign in" in mail.subject
    link = re.search(r"https?://\S+/accounts/login/unlock/\S+/", mail.body).group(0)

    # given the owner shares the first attacker's address (one office, one NAT) and
    # that address has used up its attempts
    shared = Client(REMOTE_ADDR="203.0.113.1")
    for n in range(5):
        _sign_in("", owner.email, f"wrong-{n}", client=shared)
    assert _sign_in("", owner.email, PASSWORD, client=shared).status_code == 429

    # when the owner opens the link there, then they can sign in from there
    opened = shared.get(link.split("testserver", 1)[1])
    assert opened.status_code == 302
    assert opened.url == reverse("account_login")
    assert _sign_in("", owner.email, PASSWORD, client=shared).status_code == 302


@pytest.mark.parametrize("link", ["forged", "expired"])
def test_a_forged_or_expired_unlock_link_clears_nothing(owner, link, monkeypatch, rf):
    shared = Client(REMOTE_ADDR=ATTACKER)
    for n in range(5):
        _sign_in("", owner.email, f"wrong-{n}", client=shared)
    if link == "forged":
        url = reverse("account_login_unlock", args=["not-a-signed-token"])
    else:
        url = throttle.unlock_url(rf.get("/"), user=owner).split("testserver", 1)[1]
        monkeypatch.setattr(throttle, "UNLOCK_LINK_MAX_AGE", -1)

    response = shared.get(url)

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password")
    assert _sign_in("", owner.email, PASSWORD, client=shared).status_code == 429
