"""Reads, scoped to the acting user.

:func:`get_business_for` is *the* permission check for everything under a
business: a dashboard view or an API endpoint never loads a business any other
way. Missing and forbidden look the same (404), so probing slugs tells nothing.
"""

import datetime
import zoneinfo
from dataclasses import dataclass
from typing import NamedTuple

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.http import Http404

from accounts.models import (
    ApiToken,
    Business,
    Invitation,
    Membership,
    OpeningHours,
    User,
    hash_secret,
    is_open_at,
)
from core.ids import get_by_id_or_404
from core.pagecache import PUBLIC_STATES


def get_business_for(*, user: User, slug: str, min_role: str = Membership.Role.AGENT) -> Business:
    """The business ``slug`` if ``user`` holds at least ``min_role`` there, else 404.

    The membership is attached as ``business.membership``.
    """
    # PostgreSQL refuses a NUL in a text parameter (a 500); no slug contains one.
    if not user.is_authenticated or "\x00" in slug:
        raise Http404
    membership = (
        Membership.objects.select_related("business")
        .filter(user=user, business__slug=slug, business__is_active=True)
        .first()
    )
    if membership is None or not membership.has_role(min_role):
        raise Http404
    business = membership.business
    business.membership = membership
    return business


def list_memberships_for(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, business__is_active=True)
        .select_related("business")
        .order_by("business__name")
    )


def list_public_businesses(
    *, q: str = "", city: str = "", category: str = ""
) -> QuerySet[Business]:
    # Raw query-string values: PostgreSQL refuses a NUL in a text parameter.
    q, city, category = (v.replace("\x00", "") for v in (q, city, category))
    qs = Business.objects.filter(is_active=True)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(about__icontains=q) | Q(city__icontains=q))
    if city:
        qs = qs.filter(city__iexact=city)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("name")


def list_public_cities() -> list[str]:
    return list(
        Business.objects.filter(is_active=True)
        .exclude(city="")
        .order_by("city")
        .values_list("city", flat=True)
        .distinct()
    )


def get_public_business(*, slug: str) -> Business:
    try:
        return Business.objects.prefetch_related(
            Prefetch("hours", queryset=OpeningHours.objects.order_by("weekday"))
        ).get(slug=slug, is_active=True)
    except Business.DoesNotExist:
        raise Http404 from None


class Interval(NamedTuple):
    weekday: int
    opens: datetime.time
    closes: datetime.time


@dataclass(frozen=True)
class PublicBusinessState:
    """What keys a business's cached public pages (``core.pagecache``), known
    without reading the business: its identity and versions (``created_at`` tells a
    row from one that reused its id; ``updated_at`` moves with every profile, logo
    and hours change; ``catalog_version`` with every catalog write), and its hours,
    for "open now"."""

    pk: int
    version: tuple
    tz: zoneinfo.ZoneInfo
    hours: tuple[Interval, ...]

    def open_state_at(self, moment: datetime.datetime) -> tuple[int, bool]:
        """The local weekday at ``moment`` (the hours table marks it) and whether the
        business is open then: the shop page is the same for the same pair."""
        return moment.astimezone(self.tz).weekday(), is_open_at(moment, self.tz, self.hours)


def get_public_business_state(*, slug: str) -> PublicBusinessState | None:
    """The state of the active business ``slug`` (None when there is none), as this
    process last read it: at most ``core.pagecache.STATE_TTL`` seconds ago, and
    never from before a write this process made (see ``forget_public_pages``)."""
    return PUBLIC_STATES.get(slug, lambda: _load_public_business_state(slug))


def public_version(business: Business) -> tuple:
    """``PublicBusinessState.version`` of a business already loaded."""
    return _version(business.pk, business.created_at, business.updated_at, business.catalog_version)


def _version(pk, created_at, updated_at, catalog_version) -> tuple:
    return (pk, created_at.timestamp(), updated_at.timestamp(), catalog_version)


def _load_public_business_state(slug: str) -> PublicBusinessState | None:
    row = (
        Business.objects.filter(slug=slug, is_active=True)
        .values_list("pk", "created_at", "updated_at", "catalog_version", "timezone")
        .first()
    )
    if row is None:
        return None
    pk, created_at, updated_at, catalog_version, tz = row
    hours = OpeningHours.objects.filter(business_id=pk).values_list("weekday", "opens", "closes")
    return PublicBusinessState(
        pk=pk,
        version=_version(pk, created_at, updated_at, catalog_version),
        tz=zoneinfo.ZoneInfo(tz),
        hours=tuple(Interval(*h) for h in hours),
    )


def list_members(*, business: Business) -> QuerySet[Membership]:
    """Owners, then admins, then agents (by rank: the role names do not sort that way)."""
    rank = Case(
        *(When(role=role, then=Value(n)) for role, n in Membership.RANK.items()),
        output_field=IntegerField(),
    )
    return (
        business.memberships.select_related("user")
        .alias(rank=rank)
        .order_by("-rank", "created_at", "pk")
    )


def get_membership_for(*, business: Business, membership_id: int) -> Membership:
    return get_by_id_or_404(business.memberships.select_related("user"), membership_id)


def list_pending_invitations(*, business: Business) -> list[Invitation]:
    return [i for i in business.invitations.select_related("invited_by") if i.is_pending]


def get_invitation_for(*, business: Business, invitation_id: int) -> Invitation:
    return get_by_id_or_404(business.invitations.all(), invitation_id)


def get_invitation_by_key(*, key: str) -> Invitation:
    """The invitation behind a link, whatever its state (the caller shows the state)."""
    try:
        return Invitation.objects.select_related("business").get(key_hash=hash_secret(key))
    except Invitation.DoesNotExist:
        raise Http404 from None


def list_tokens(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True)


def get_token_for(*, user: User, token_id: int) -> ApiToken:
    return get_by_id_or_404(list_tokens(user=user), token_id)
