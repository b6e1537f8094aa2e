"""The raw statements of chats, on hot paths where the ORM's cost per statement
(compiling the query, building rows) is most of the work. ``chats/tests/test_sql.py``
compares each with the ORM's answer. Portable: PostgreSQL and SQLite."""

from django.db import connection

from accounts.models import Membership, User
from chats.models import Participant

_USER, _MEMBERSHIP, _PARTICIPANT = (m._meta.db_table for m in (User, Membership, Participant))

_VIEWER_LANGUAGES = f"""
SELECT DISTINCT u.language FROM {_USER} AS u
WHERE u.id IN (
    SELECT p.user_id FROM {_PARTICIPANT} AS p
    WHERE p.conversation_id IN ({{ids}}) AND p.user_id IS NOT NULL
    UNION
    SELECT m.user_id FROM {_MEMBERSHIP} AS m
    JOIN {_PARTICIPANT} AS p ON p.business_id = m.business_id
    WHERE p.conversation_id IN ({{ids}})
)
"""  # noqa: S608 (table names from the models, values as parameters)


def viewer_languages(conversation_ids: list[int]) -> list[str]:
    """The distinct ``language`` values of the conversations' users and of the members
    of their businesses (blank included, as stored); see
    :func:`chats.selectors.list_viewer_languages`."""
    ids = [int(pk) for pk in conversation_ids]
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_VIEWER_LANGUAGES.format(ids=marks), ids + ids)
        return [row[0] for row in cursor.fetchall()]
