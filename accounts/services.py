"""Every write to users, businesses, memberships, invitations and tokens.

Services are keyword-only, take the acting user, run in one transaction and
register side effects (mail, events) to run after commit. Expected failures are
:class:`core.errors.AppError`.
"""

import datetime
import logging
import re
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import (
    ApiToken,
    Business,
    Invitation,
    Membership,
    OpeningHours,
    User,
    hash_secret,
)
from core import mail
from core.errors import AppError, forbidden, validation_to_app_error
from core.events import run_on_commit, send_event_on_commit, user_group
from core.images import clean_image
from core.models import OutgoingEmail
from core.pagecache import forget_public_pages

logger = logging.getLogger(__name__)

LOGO_MAX_BYTES = 5 * 1024 * 1024
LOGO_MAX_SIDE = 4096
LOGO_SIZE = 1024
LOGO_THUMB_SIZE = 256

PROFILE_FIELDS = (
    "name", "about", "description", "category", "address", "city", "country",
    "email", "phone", "website", "store_url", "timezone", "currency",
)  # fmt: skip


def require_role(actor: User, business: Business, min_role: str) -> Membership:
    membership = Membership.objects.filter(user=actor, business=business).first()
    if membership is None or not membership.has_role(min_role):
        raise forbidden()
    return membership


# --- Users ------------------------------------------------------------------------


def update_user_profile(*, user: User, display_name: str, phone: str, language: str) -> User:
    user.display_name, user.phone, user.language = display_name, phone, language
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        raise validation_to_app_error(exc) from None
    user.save(update_fields=["display_name", "phone", "language"])
    return user


# --- Businesses -------------------------------------------------------------------


# Addresses the dashboard uses for pages of its own: /dashboard/new/, /dashboard/switch/.
RESERVED_SLUGS = frozenset({"new", "switch"})


def _free_slug(name: str) -> str:
    # slugify() keeps underscores and runs of them; an address has single hyphens only.
    base = re.sub(r"[^a-z0-9]+", "-", slugify(name))[:40].strip("-") or "shop"
    candidate, n = base, 1
    while candidate in RESERVED_SLUGS or Business.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _save_business(business: Business) -> None:
    """Validate and save the profile. The unique constraint, not a prior read, decides
    whether the address is free (so a taken one is always ``slug_taken``). The save
    moves ``updated_at``, which keys the cached public pages (``core.pagecache``)."""
    try:
        business.full_clean(exclude=["logo", "logo_thumb"], validate_unique=False)
    except ValidationError as exc:
        raise validation_to_app_error(exc) from None
    taken = AppError(_("That address is taken; choose another."), code="slug_taken", field="slug")
    if business.slug in RESERVED_SLUGS:
        raise taken
    try:
        with transaction.atomic():
            business.save()
    except IntegrityError:
        raise taken from None
    forget_public_pages()


@transaction.atomic
def create_business(*, user: User, name: str, slug: str, **profile: Any) -> Business:
    """Create a business with ``user`` as its owner."""
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    slug = slug or _free_slug(name)
    business = Business(name=name, slug=slug, **profile)
    _save_business(business)
    Membership.objects.create(user=user, business=business, role=Membership.Role.OWNER)
    return business


@transaction.atomic
def update_business_profile(*, actor: User, business: Business, **changes: Any) -> Business:
    """Change profile fields (admin and up). The fee rate is not among them."""
    require_role(actor, business, Membership.Role.ADMIN)
    unknown = set(changes) - set(PROFILE_FIELDS) - {"slug"}
    if unknown:
        raise TypeError(f"unknown profile fields: {sorted(unknown)}")
    business = Business.objects.select_for_update(no_key=True).get(pk=business.pk)
    for field, value in changes.items():
        setattr(business, field, value)
    _save_business(business)
    return business


def set_business_logo(*, actor: User, business: Business, upload) -> Business:
    """Validate, re-encode and store a logo with its square thumbnail (admin and up)."""
    require_role(actor, business, Membership.Role.ADMIN)
    image = clean_image(upload, max_bytes=LOGO_MAX_BYTES, max_side=LOGO_MAX_SIDE)
    logo = image.encode(max_side=LOGO_SIZE)
    thumb = image.encode(square=LOGO_THUMB_SIZE)
    with transaction.atomic():
        locked = Business.objects.select_for_update(no_key=True).get(pk=business.pk)
        old = [f.name for f in (locked.logo, locked.logo_thumb) if f]
        locked.logo.save(logo.name, logo, save=False)
        locked.logo_thumb.save(thumb.name, thumb, save=False)
        locked.save(update_fields=["logo", "logo_thumb", "updated_at"])
        forget_public_pages()
        storage = locked.logo.storage
        run_on_commit(lambda: [storage.delete(name) for name in old])
    return locked


def remove_business_logo(*, actor: User, business: Business) -> Business:
    require_role(actor, business, Membership.Role.ADMIN)
    with transaction.atomic():
        locked = Business.objects.select_for_update(no_key=True).get(pk=business.pk)
        old = [f.name for f in (locked.logo, locked.logo_thumb) if f]
        locked.logo = locked.logo_thumb = ""
        locked.save(update_fields=["logo", "logo_thumb", "updated_at"])
        forget_public_pages()
        storage = locked.logo.storage
        run_on_commit(lambda: [storage.delete(name) for name in old])
    return locked


@transaction.atomic
def set_opening_hours(
    *, actor: User, business: Business, hours: Iterable[tuple[int, datetime.time, datetime.time]]
) -> list[OpeningHours]:
    """Replace the weekly hours. One interval per weekday; a missing weekday is closed."""
    require_role(actor, business, Membership.Role.ADMIN)
    rows = []
    seen = set()
    for weekday, opens, closes in hours:
        if weekday not in range(7):
            raise AppError(_("Unknown weekday."), code="invalid_weekday")
        if weekday in seen:
            raise AppError(_("Give each weekday one interval."), code="duplicate_weekday")
        seen.add(weekday)
        rows.append(OpeningHours(business=business, weekday=weekday, opens=opens, closes=closes))
    # Locks the profile and moves its updated_at, which keys the cached shop page.
    Business.objects.filter(pk=business.pk).update(updated_at=timezone.now())
    forget_public_pages()
    OpeningHours.objects.filter(business=business).delete()
    return OpeningHours.objects.bulk_create(rows)


# --- Team -------------------------------------------------------------------------


def _invitation_url(key: str) -> str:
    return settings.SITE_URL + reverse("invitation_accept", kwargs={"key": key})


@transaction.atomic
def invite_member(
    *, actor: User, business: Business, email: str, role: str
) -> tuple[Invitation, str]:
    """Invite ``email`` to join as ``role`` (owners only). Returns the invitation and
    its secret key (only its hash is stored); the e-mail goes out after commit."""
    require_role(actor, business, Membership.Role.OWNER)
    email = User.objects.normalize_email(email).lower().strip()
    try:
        validate_email(email)
    except ValidationError:
        raise AppError(_("Enter a valid e-mail address."), code="invalid", field="email") from None
    if role not in Membership.Role.values:
        raise AppError(_("Unknown role."), code="invalid_role", field="role")
    if Membership.objects.filter(business=business, user__email__iexact=email).exists():
        raise AppError(
            _("%(email)s is already a member.") % {"email": email},
            code="already_member",
            field="email",
        )
    # A fresh invitation replaces any pending one for the same address.
    Invitation.objects.filter(
        business=business, email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    key = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        business=business,
        email=email,
        role=role,
        key_hash=hash_secret(key),
        invited_by=actor,
        expires_at=timezone.now() + datetime.timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    context = {"invitation": invitation, "url": _invitation_url(key), "inviter": actor}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    run_on_commit(lambda: send_mail(subject, body, None, [email]))
    return invitation, key


@transaction.atomic
def revoke_invitation(*, actor: User, invitation: Invitation) -> Invitation:
    require_role(actor, invitation.business, Membership.Role.OWNER)
    invitation = Invitation.objects.select_for_update(no_key=True).get(pk=invitation.pk)
    if invitation.state != "pending":
        raise AppError(_("This invitation is no longer pending."), code="invitation_not_pending")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def accept_invitation(*, user: User, key: str) -> Membership:
    """Join the invitation's business. Single use, under a row lock; the signed-in
    user's e-mail must be the invited one."""
    try:
        invitation = Invitation.objects.select_for_update(no_key=True).get(
            key_hash=hash_secret(key)
        )
    except Invitation.DoesNotExist:
        raise AppError(_("This invitation link is not valid."), code="invitation_invalid") from None
    state = invitation.state
    if state == "accepted":
        raise AppError(_("This invitation has already been used."), code="invitation_used")
    if state == "revoked":
        raise AppError(_("This invitation was withdrawn."), code="invitation_revoked")
    if state == "expired":
        raise AppError(
            _("This invitation has expired; ask for a new one."), code="invitation_expired"
        )
    if not Business.objects.filter(pk=invitation.business_id, is_active=True).exists():
        raise AppError(_("This business is no longer on Conversa."), code="business_inactive")
    if invitation.email.lower() != user.email.lower():
        raise AppError(
            _("This invitation is for %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email},
            code="invitation_wrong_user",
        )
    if Membership.objects.filter(user=user, business_id=invitation.business_id).exists():
        raise AppError(_("You are already a member of this business."), code="already_member")
    membership = Membership.objects.create(
        user=user, business_id=invitation.business_id, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def _lock_team_as_owner(actor: User, business: Business) -> dict[int, Membership]:
    """Lock every membership of ``business`` (in id order), then check under the lock
    that ``actor`` is still an owner, so two owners demoting each other cannot both
    act on authority one of them has just lost."""
    locked = {
        m.pk: m
        for m in Membership.objects.select_for_update(no_key=True)
        .filter(business=business)
        .order_by("pk")
    }
    if not any(m.user_id == actor.pk and m.role == Membership.Role.OWNER for m in locked.values()):
        raise AppError(
            _("You do not have permission to do that."), code="forbidden", status_code=403
        )
    return locked


def _refuse_losing_last_owner(locked: dict[int, Membership], target: Membership) -> None:
    owners = sum(1 for m in locked.values() if m.role == Membership.Role.OWNER)
    if target.role == Membership.Role.OWNER and owners <= 1:
        raise AppError(
            _("A business needs at least one owner. Make someone else owner first."),
            code="last_owner",
        )


@transaction.atomic
def change_member_role(*, actor: User, membership: Membership, role: str) -> Membership:
    """Owners change roles; the last owner cannot be demoted."""
    if role not in Membership.Role.values:
        raise AppError(_("Unknown role."), code="invalid_role", field="role")
    locked = _lock_team_as_owner(actor, membership.business)
    target = locked.get(membership.pk)
    if target is None:
        raise AppError(_("This person is no longer a member."), code="not_member")
    if role != Membership.Role.OWNER:
        _refuse_losing_last_owner(locked, target)
    target.role = role
    target.save(update_fields=["role"])
    _tell_sockets_access_changed(target)
    return target


@transaction.atomic
def remove_member(*, actor: User, membership: Membership) -> None:
    """Owners remove members; the last owner cannot be removed."""
    locked = _lock_team_as_owner(actor, membership.business)
    target = locked.get(membership.pk)
    if target is None:
        return
    _refuse_losing_last_owner(locked, target)
    target.delete()
    _tell_sockets_access_changed(target)


def _tell_sockets_access_changed(membership: Membership) -> None:
    """After the commit, the member's open chat sockets drop the business's inbox and
    conversations and have their pages reload, so a removed or demoted member stops
    receiving what they may no longer see (docs/realtime.md)."""
    send_event_on_commit(
        user_group(membership.user_id),
        {"type": "access.changed", "business": membership.business_id},
    )


def purge_stale_invitations(*, older_than_days: int = 30) -> int:
    """Delete invitations that ended (expired, revoked or used) long ago."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    deleted, _rows = Invitation.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


# --- API tokens -------------------------------------------------------------------

TOKEN_PREFIX = "cv_"  # noqa: S105 - a public prefix, not a secret


TOKEN_LIFETIMES_DAYS = (30, 90, 365)
DEFAULT_TOKEN_LIFETIME_DAYS = 90


def create_api_token(
    *, user: User, name: str, lifetime_days: int | None = DEFAULT_TOKEN_LIFETIME_DAYS
) -> tuple[ApiToken, str]:
    """A new token that expires after ``lifetime_days`` (one of
    :data:`TOKEN_LIFETIMES_DAYS`), or never with ``None``; the raw value is returned
    once and never stored."""
    name = (name or "").strip()
    if not name:
        raise AppError(_("Give the token a name."), code="invalid", field="name")
    if lifetime_days is not None and lifetime_days not in TOKEN_LIFETIMES_DAYS:
        raise AppError(
            _("Choose when the token expires: in 30, 90 or 365 days, or never."),
            code="invalid",
            field="lifetime",
        )
    now = timezone.now()
    token = ApiToken(
        user=user,
        name=name,
        created_at=now,
        expires_at=now + datetime.timedelta(days=lifetime_days) if lifetime_days else None,
    )
    try:
        token.full_clean(exclude=["prefix", "key_hash"])
    except ValidationError as exc:
        raise validation_to_app_error(exc) from None
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if active.exclude(expires_at__lte=now).count() >= 20:
        raise AppError(_("You have 20 active tokens; revoke one first."), code="too_many_tokens")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token.prefix = raw[:10]
    token.key_hash = hash_secret(raw)
    token.save()
    return token, raw


def revoke_api_token(*, user: User, token: ApiToken) -> ApiToken:
    if token.user_id != user.pk:
        raise AppError(_("Token not found."), code="not_found", status_code=404)
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def revoke_api_tokens(*, user: User) -> int:
    """Revoke every token of ``user`` (a password reset, or a change that asks to);
    how many were still usable."""
    now = timezone.now()
    return (
        ApiToken.objects.filter(user=user, revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .update(revoked_at=now)
    )


def authenticate_api_token(*, raw: str) -> ApiToken | None:
    """The active token for ``raw`` (with its user), or None for an unknown or revoked
    one; an expired one raises ``AppError`` (401, ``token_expired``), so the client
    is told why. ``last_used_at`` is written at most once a minute per token."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_secret(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.is_expired:
        raise AppError(
            _("This API token expired on %(date)s. Create a new one on your API tokens page.")
            % {"date": token.expires_at.date().isoformat()},
            code="token_expired",
            status_code=401,
        )
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def find_user_by_email(*, email: str) -> User | None:
    """The active user with this (verified or not) address, for the sign-in throttle."""
    from allauth.account.models import EmailAddress

    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    user = address.user if address else User.objects.filter(email__iexact=email).first()
    return user if user is not None and user.is_active else None


# --- Passwords ----------------------------------------------------------------------


def set_password(*, user: User, password: str, revoke_tokens: bool) -> int:
    """Give ``user`` a new password (validated by the caller's form) and, with
    ``revoke_tokens``, revoke their API tokens, in one transaction; how many tokens
    were revoked. Atomic.

    Every session of the user ends with it: Django compares a session's copy of the
    password hash on each request. The caller keeps its own session, if it should,
    with ``update_session_auth_hash`` (allauth's password-change flow does)."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        return revoke_api_tokens(user=user) if revoke_tokens else 0


# --- Account e-mail (sent by a worker after the commit) -------------------------------


def queue_email(*, message: EmailMessage) -> OutgoingEmail:
    """Have a worker send ``message`` (rendered by allauth) after the commit, through
    ``core.mail`` (a row first, the task a shortcut, the beat's sweep for a lost one).

    For the mail of requests whose duration must not depend on it (sign-up, password
    reset, sign-in). Its body is cleared once sent: it may hold a one-time code."""
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    body = message.body
    if message.content_subtype == "html":
        html, body = body, ""
    (to,) = message.to
    return mail.queue_email(
        to=to, subject=message.subject, body=body, html_body=html, sensitive=True
    )
