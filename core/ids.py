"""Whole numbers from untrusted text (URLs, query strings, form fields, frames).

Ids are ``BigAutoField``s: a number past their range is refused here rather than sent
to the database (where PostgreSQL would fail with an error, a 500)."""

from django.db.models import Model, QuerySet
from django.http import Http404

MAX_ID = 2**63 - 1


def parse_int(value, *, minimum: int = 0) -> int | None:
    """``value`` as an int from ``minimum`` to ``MAX_ID``, or None when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if minimum <= number <= MAX_ID else None


def get_by_id_or_404[M: Model](queryset: QuerySet[M], value) -> M:
    """The row of ``queryset`` whose id is ``value`` (untrusted: text, a number, None).
    Http404 alike for what is no id, a missing row and one outside ``queryset``: the
    selectors scope ``queryset`` to what the acting user may see, so another user's
    row is "not found" like a missing one."""
    pk = parse_int(value, minimum=1)
    found = queryset.filter(pk=pk).first() if pk is not None else None
    if found is None:
        raise Http404
    return found
