"""Rendered report bodies, reused until the rollups change (docs/insights.md, "Speed").

A report page is the dashboard's shell (per user: navigation, menus, forms with their
CSRF token) around a body that depends only on the business's rollups, the period and
filters asked for, the language and what the viewer may see. The body is rendered
once per :class:`~insights.models.RollupVersion` of the business — bumped in the
transaction that recomputes its rollups — and kept in the cache for ``BODY_TTL``
seconds at most, so names (a campaign renamed, a label) are at most that old. A body
holds no per-user secret (no form, no token): the tests check it.

The key is a hash of all it depends on, so no two pages, periods, languages or
viewers share a body.
"""

import hashlib
from collections.abc import Callable

from django.core.cache import cache
from django.utils.translation import get_language

from accounts.models import Business
from insights.models import RollupVersion
from insights.reports.period import ReportPeriod

BODY_TTL = 300  # seconds


def rollup_version(business: Business) -> str:
    """The token of the business's rollups (one query by primary key); "" before any."""
    return (
        RollupVersion.objects.filter(business=business).values_list("version", flat=True).first()
        or ""
    )


def cached_body(
    *,
    request,
    business: Business,
    page: str,
    report: ReportPeriod,
    viewer: str,
    render: Callable[[], str],
) -> str:
    """The body of report ``page`` for this request: from the cache when the same
    business, rollup version, period (as days, so "last 28 days" is a new key after
    midnight), query, language and ``viewer`` (what they may see: "money", or
    "agent:<id>") rendered it already; else ``render()``, kept for next time."""
    query = sorted((k, v) for k, v in request.GET.lists())
    parts = (
        business.pk, rollup_version(business), page, report.first.isoformat(),
        report.last.isoformat(), report.group, query, get_language(), viewer,
        business.timezone, business.currency,
    )  # fmt: skip
    key = "insights-body:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    body = cache.get(key)
    if body is None:
        body = render()
        cache.set(key, body, BODY_TTL)
    return body
