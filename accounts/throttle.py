"""Failed sign-ins: throttled by account *and* address together, and by address alone,
so that an attacker cannot lock an owner out from another address (issue #15 item 9).

allauth keeps the counters (its ``login_failed`` rate limit, in the cache: Redis in
production); this module gives it a key that includes the client's address, tells
the login view how long to wait (``Retry-After``), and, when an account fails from
many addresses, e-mails its owner a signed link that clears the throttle for the
address that opens it. docs/accounts.md describes the limits.
"""

import hashlib
import math
import time

from allauth.account.adapter import get_adapter
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User

ACTION = "login_failed"
APP = "allauth.account"
# An account failing from this many addresses within ATTACK_WINDOW is under attack:
# its owner gets one unlock e-mail per UNLOCK_MAIL_INTERVAL.
ATTACK_ADDRESSES = 3
ATTACK_WINDOW = 15 * 60
UNLOCK_MAIL_INTERVAL = 60 * 60
UNLOCK_LINK_MAX_AGE = 24 * 60 * 60
UNLOCK_SALT = "accounts.login-unlock"


def client_ip(request: HttpRequest) -> str:
    """The client's address: the one helper for it. allauth's, so that its rate limits
    and ours agree: ``REMOTE_ADDR``, or the address ``ALLAUTH_TRUSTED_PROXY_COUNT``
    proxies in front of the app put in ``X-Forwarded-For`` (settings)."""
    return get_adapter().get_client_ip(request)


def login_key(request: HttpRequest, email: str) -> str:
    """The counter of failed sign-ins for ``email`` from this request's address."""
    return f"{get_current_site(request).domain}:{email.strip().lower()}:{client_ip(request)}"


def retry_after(request: HttpRequest, email: str) -> int:
    """Seconds until this address may try ``email`` again (0: it may now)."""
    key = login_key(request, email)
    now = time.time()
    wait = 0.0
    # allauth's own keys and history format (newest first), read, never written.
    for rate in allauth_ratelimit.get_rates(app=APP, action=ACTION):
        cache_key = allauth_ratelimit.get_cache_key(
            request, app=APP, action=ACTION, rate=rate, key=key
        )
        history = [t for t in cache.get(cache_key, []) if t > now - rate.duration]
        if len(history) >= rate.amount:
            wait = max(wait, history[rate.amount - 1] + rate.duration - now)
    return math.ceil(wait) if wait > 0 else 0


def clear(request: HttpRequest, email: str) -> None:
    """Forget this address's failed sign-ins for ``email`` (and its own count)."""
    allauth_ratelimit.clear(request, app=APP, action=ACTION, key=login_key(request, email))


def _address_tag(request: HttpRequest) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{client_ip(request)}".encode()).hexdigest()[:16]


def note_failure(request: HttpRequest, *, user) -> bool:
    """Record a failed sign-in to ``user``'s account from this address; True when that
    makes it an attack from many addresses and the owner is due an unlock e-mail
    (at most one per ``UNLOCK_MAIL_INTERVAL``; the caller sends it). Addresses are kept
    only as keyed hashes, for ``ATTACK_WINDOW``."""
    key = f"login:failed-from:{user.pk}"
    now = time.time()
    with allauth_ratelimit.cache_lock(key) as locked:
        if not locked:
            return False
        seen = {t: at for t, at in cache.get(key, {}).items() if at > now - ATTACK_WINDOW}
        seen[_address_tag(request)] = now
        cache.set(key, seen, ATTACK_WINDOW)
    if len(seen) < ATTACK_ADDRESSES:
        return False
    return cache.add(f"login:unlock-mailed:{user.pk}", True, UNLOCK_MAIL_INTERVAL)


def unlock_url(request: HttpRequest, *, user) -> str:
    token = signing.dumps({"u": user.pk, "e": user.email}, salt=UNLOCK_SALT, compress=True)
    return request.build_absolute_uri(reverse("account_login_unlock", args=[token]))


def user_from_unlock_token(token: str):
    """The user a valid, unexpired unlock link was made for, or None."""
    try:
        data = signing.loads(token, salt=UNLOCK_SALT, max_age=UNLOCK_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict):
        return None
    return User.objects.filter(pk=data.get("u"), email=data.get("e"), is_active=True).first()
