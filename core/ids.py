"""Whole numbers from untrusted text (URLs, query strings, form fields, frames).

Ids are ``BigAutoField``s: a number past their range is refused here rather than sent
to the database (where PostgreSQL would fail with an error, a 500)."""

MAX_ID = 2**63 - 1


def parse_int(value, *, minimum: int = 0) -> int | None:
    """``value`` as an int from ``minimum`` to ``MAX_ID``, or None when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if minimum <= number <= MAX_ID else None
