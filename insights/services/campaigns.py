"""Campaigns: create, edit, archive, rename and merge (docs/insights.md).

Every write here is keyword-only, takes the acting user and needs an admin or owner of
the campaign's business (agents see counts only: ``forbidden`` otherwise). Each is one
transaction. Amounts are integer minor units of the business's currency; the forms
turn what the merchant typed ("1.234,56" in pt-BR, "1,234.56" in English) into them
with ``core.money.parse_money``."""

import datetime
import re
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.models import Business, Membership, User
from accounts.services import require_role
from core.errors import AppError
from core.money import check_minor
from insights.models import (
    CODE_MAX,
    LINK_TEXT_MAX,
    MAX_COST,
    AttributionSettings,
    Campaign,
    Channel,
    OrderAttribution,
    RollupVersion,
    Touch,
)

ROLE = Membership.Role
NAME_MAX = Campaign._meta.get_field("name").max_length
CODE_RE = re.compile(r"[a-z0-9][a-z0-9_-]*", re.ASCII)
AUTO_PREFIX = "auto-"  # the codes of automatic campaigns (insights.services.touches)
_MARKUP = re.compile(r"[<>\"'&]|javascript:", re.IGNORECASE)
# Dates a merchant may mean: anything else is a typo (year 20266).
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2100, 12, 31)


def not_found() -> AppError:
    return AppError(_("Campaign not found."), code="not_found", status_code=404)


def _clean_text(value: Any, *, field: str, limit: int, required: bool, label: str) -> str:
    """Plain one-line-or-more text: control characters (but newlines) refused, markup
    refused, cut to nothing else (too long is an error, not silently cut)."""
    text = str(value or "").strip()
    if required and not text:
        raise AppError(_("Enter the %(what)s.") % {"what": label}, code="required", field=field)
    if len(text) > limit:
        raise AppError(
            _("Use at most %(n)d characters.") % {"n": limit}, code="too_long", field=field
        )
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in text):
        raise AppError(
            _("Remove the control characters from this text."), code="control_chars", field=field
        )
    if re.search(r"<\s*[a-zA-Z/!?]|javascript:", text, re.IGNORECASE):
        raise AppError(
            _("Use plain text here: HTML tags and scripts are not allowed."),
            code="markup",
            field=field,
        )
    return text


def _clean_name(name: Any) -> str:
    text = _clean_text(name, field="name", limit=NAME_MAX, required=True, label=_("name"))
    return " ".join(text.split())


def _clean_channel(channel: Any) -> str:
    if channel not in Channel.values:
        raise AppError(_("Choose a channel."), code="invalid_channel", field="channel")
    return channel


def _clean_day(value: Any, field: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise AppError(_("Enter a valid date."), code="invalid_date", field=field)
    if not FIRST_DAY <= value <= LAST_DAY:
        raise AppError(
            _("Enter a date between %(first)s and %(last)s.")
            % {"first": FIRST_DAY.year, "last": LAST_DAY.year},
            code="invalid_date",
            field=field,
        )
    return value


def _clean_dates(starts_on: Any, ends_on: Any) -> tuple[datetime.date | None, datetime.date | None]:
    starts_on = _clean_day(starts_on, "starts_on")
    ends_on = _clean_day(ends_on, "ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        raise AppError(
            _("The end date is before the start date."), code="ends_before_start", field="ends_on"
        )
    return starts_on, ends_on


def _clean_cost(cost_mode: Any, total_cost: Any) -> tuple[str, int]:
    if cost_mode not in Campaign.CostMode.values:
        raise AppError(
            _("Choose how the cost is counted."), code="invalid_cost_mode", field="cost_mode"
        )
    total_cost = 0 if total_cost is None else total_cost
    check_minor(total_cost, field="total_cost")
    if total_cost > MAX_COST:  # the same bound today; kept if either moves
        raise AppError(_("That amount is too large."), code="money_too_large", field="total_cost")
    return cost_mode, total_cost


def clean_code(code: Any) -> str:
    """A campaign code as links carry it: lower-case letters, digits, - and _ (a slug),
    at most ``CODE_MAX``. Markup gets its own message (someone trying), the rest the
    rule."""
    text = str(code or "").strip()
    if _MARKUP.search(text):
        raise AppError(
            _("Use plain text here: HTML tags and scripts are not allowed."),
            code="markup",
            field="code",
        )
    text = text.lower()
    if len(text) > CODE_MAX or not CODE_RE.fullmatch(text):
        raise AppError(
            _(
                "Use at most %(n)d letters (a–z), digits, hyphens and underscores, "
                "starting with a letter or digit."
            )
            % {"n": CODE_MAX},
            code="invalid_code",
            field="code",
        )
    if text.startswith(AUTO_PREFIX):
        raise AppError(
            _("Codes starting with “auto-” are kept for automatic campaigns."),
            code="reserved_code",
            field="code",
        )
    return text


def _code_taken(business: Business, code: str, exclude: int | None = None) -> bool:
    qs = Campaign.objects.filter(business=business, code=code)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def code_from_name(business: Business, name: str) -> str:
    """A free code made from ``name`` (``Summer sale!`` → ``summer-sale``, then
    ``summer-sale-2``, ...)."""
    base = slugify(name).lower()[: CODE_MAX - 4].strip("-_") or "campaign"
    if base.startswith(AUTO_PREFIX):
        base = "c-" + base
    taken = set(
        Campaign.objects.filter(business=business, code__startswith=base).values_list(
            "code", flat=True
        )
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _taken_error() -> AppError:
    return AppError(
        _("Another campaign of this business already uses that code."),
        code="code_taken",
        field="code",
    )


def _check_campaign(actor: User, campaign: Campaign) -> None:
    require_role(actor, campaign.business, ROLE.ADMIN)


def _fields(
    *,
    name: Any,
    channel: Any,
    starts_on: Any,
    ends_on: Any,
    cost_mode: Any,
    total_cost: Any,
    utm_source: Any,
    utm_medium: Any,
    link_text: Any,
) -> dict[str, Any]:
    starts_on, ends_on = _clean_dates(starts_on, ends_on)
    cost_mode, total_cost = _clean_cost(cost_mode, total_cost)
    channel = _clean_channel(channel)
    source = _clean_utm(utm_source, "utm_source") or channel
    medium = _clean_utm(utm_medium, "utm_medium") or DEFAULT_MEDIUM.get(channel, "referral")
    return {
        "name": _clean_name(name),
        "channel": channel,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "cost_mode": cost_mode,
        "total_cost": total_cost,
        "utm_source": source,
        "utm_medium": medium,
        "link_text": _clean_text(
            link_text, field="link_text", limit=LINK_TEXT_MAX, required=False, label=""
        ),
    }


# What a channel's links announce as utm_medium when the merchant leaves it empty.
DEFAULT_MEDIUM = {
    Channel.INSTAGRAM: "social",
    Channel.FACEBOOK: "social",
    Channel.TIKTOK: "social",
    Channel.GOOGLE: "cpc",
    Channel.FLYER: "print",
    Channel.EMAIL: "email",
    Channel.INFLUENCER: "influencer",
    Channel.BROADCAST: "chat",
}
_UTM_RE = re.compile(r"[A-Za-z0-9._~-]+(?:[ +][A-Za-z0-9._~-]+)*", re.ASCII)


def _clean_utm(value: Any, field: str) -> str:
    text = str(value or "").strip().lower()
    if not text:
        return ""
    if len(text) > 60 or not _UTM_RE.fullmatch(text):
        raise AppError(
            _("Use at most 60 letters, digits, dots, hyphens and underscores."),
            code="invalid_utm",
            field=field,
        )
    return text


def create_campaign(
    *,
    actor: User,
    business: Business,
    name: Any,
    channel: Any = Channel.OTHER,
    code: Any = "",
    starts_on: Any = None,
    ends_on: Any = None,
    cost_mode: Any = Campaign.CostMode.TOTAL,
    total_cost: Any = 0,
    utm_source: Any = "",
    utm_medium: Any = "",
    link_text: Any = "",
) -> Campaign:
    """A new campaign of ``business``. ``code`` empty: one is made from the name.
    Admins and owners. Atomic; a taken code is ``code_taken`` (also when a concurrent
    request takes it first: the unique constraint decides)."""
    require_role(actor, business, ROLE.ADMIN)
    fields = _fields(
        name=name, channel=channel, starts_on=starts_on, ends_on=ends_on, cost_mode=cost_mode,
        total_cost=total_cost, utm_source=utm_source, utm_medium=utm_medium, link_text=link_text,
    )  # fmt: skip
    code = clean_code(code) if str(code or "").strip() else code_from_name(business, fields["name"])
    if _code_taken(business, code):
        raise _taken_error()
    try:
        with transaction.atomic():
            return Campaign.objects.create(
                business=business,
                code=code,
                currency=business.currency,
                created_by=actor,
                **fields,
            )
    except IntegrityError:
        raise _taken_error() from None


def update_campaign(
    *,
    actor: User,
    campaign: Campaign,
    name: Any,
    channel: Any,
    code: Any,
    starts_on: Any = None,
    ends_on: Any = None,
    cost_mode: Any = Campaign.CostMode.TOTAL,
    total_cost: Any = 0,
    utm_source: Any = "",
    utm_medium: Any = "",
    link_text: Any = "",
) -> Campaign:
    """Change a campaign (not an automatic one: those are renamed or merged). Its code
    can change only while no touch carries it, so links already shared keep working.
    Admins and owners. Atomic."""
    _check_campaign(actor, campaign)
    if campaign.is_automatic:
        raise AppError(
            _("An automatic campaign can only be renamed or merged into another."),
            code="automatic_campaign",
        )
    fields = _fields(
        name=name, channel=channel, starts_on=starts_on, ends_on=ends_on, cost_mode=cost_mode,
        total_cost=total_cost, utm_source=utm_source, utm_medium=utm_medium, link_text=link_text,
    )  # fmt: skip
    code = clean_code(code) if str(code or "").strip() else campaign.code
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if code != locked.code:
            if Touch.objects.filter(campaign=locked).exists():
                raise AppError(
                    _(
                        "This campaign's links have already been used: its code cannot "
                        "change any more."
                    ),
                    code="code_in_use",
                    field="code",
                )
            if _code_taken(campaign.business, code, exclude=locked.pk):
                raise _taken_error()
        for key, value in (fields | {"code": code}).items():
            setattr(locked, key, value)
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise _taken_error() from None
    for key, value in (fields | {"code": code}).items():
        setattr(campaign, key, value)
    return campaign


def archive_campaign(*, actor: User, campaign: Campaign, archived: bool = True) -> Campaign:
    """Archive (or bring back) a campaign: it leaves the list but still collects the
    touches of its links and keeps its figures. A merged automatic campaign stays
    archived. Admins and owners."""
    _check_campaign(actor, campaign)
    if not archived and campaign.merged_into_id:
        raise AppError(_("This campaign was merged into another one."), code="merged_campaign")
    campaign.archived_at = timezone.now() if archived else None
    Campaign.objects.filter(pk=campaign.pk).update(archived_at=campaign.archived_at)
    return campaign


def rename_campaign(*, actor: User, campaign: Campaign, name: Any) -> Campaign:
    """Rename a campaign (the one change an automatic campaign takes). Admins and owners."""
    _check_campaign(actor, campaign)
    campaign.name = _clean_name(name)
    Campaign.objects.filter(pk=campaign.pk).update(name=campaign.name)
    return campaign


def merge_campaign(*, actor: User, campaign: Campaign, into: Campaign) -> Campaign:
    """Merge the automatic ``campaign`` into the real campaign ``into`` of the same
    business: its touches and the orders credited to it move to ``into``; it stays,
    archived, with ``merged_into`` set, so later touches with its source/medium/
    campaign go to ``into`` (insights.services.touches.resolve_campaign follows it).
    Locks both campaigns (lower id first). Admins and owners. Atomic."""
    _check_campaign(actor, campaign)
    if into.business_id != campaign.business_id:
        raise not_found()
    if not campaign.is_automatic or campaign.merged_into_id:
        raise AppError(
            _("Only an automatic campaign can be merged into another."), code="not_automatic"
        )
    if into.is_automatic or into.pk == campaign.pk:
        raise AppError(
            _("Choose one of your own campaigns to merge into."), code="invalid_target",
            field="into",
        )  # fmt: skip
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Campaign.objects.select_for_update()
            .filter(pk__in=[campaign.pk, into.pk])
            .order_by("pk")
        }
        source = locked[campaign.pk]
        if source.merged_into_id:  # merged meanwhile
            raise AppError(_("This campaign was merged into another one."), code="merged_campaign")
        Touch.objects.filter(campaign=source).update(campaign=into)
        OrderAttribution.objects.filter(first_campaign=source).update(first_campaign=into)
        OrderAttribution.objects.filter(last_campaign=source).update(last_campaign=into)
        source.merged_into = into
        source.archived_at = source.archived_at or timezone.now()
        source.save(update_fields=["merged_into", "archived_at"])
    campaign.merged_into, campaign.archived_at = into, source.archived_at
    return campaign


def set_attribution_window(
    *, actor: User, business: Business, window_days: Any
) -> AttributionSettings:
    """The business's attribution window (1, 7 or 28 days). Orders already paid keep
    the window they were attributed with; the reports' conversions (a conversation
    that led to a paid order within the window) are rebuilt by the next refresh
    (``RollupVersion.rebuild_wanted_at``). Admins and owners."""
    require_role(actor, business, ROLE.ADMIN)
    if type(window_days) is not int or window_days not in AttributionSettings.Window.values:
        raise AppError(_("Choose 1, 7 or 28 days."), code="invalid_window", field="window_days")
    with transaction.atomic():
        settings_row, _created = AttributionSettings.objects.update_or_create(
            business=business, defaults={"window_days": window_days}
        )
        RollupVersion.objects.update_or_create(
            business=business, defaults={"rebuild_wanted_at": timezone.now()}
        )
    return settings_row
