"""The one raw statement of webhooks, on the hot path of every change a merchant
listens to (a payment, a chat message): an event and its due deliveries in one round
trip on PostgreSQL. ``webhooks/tests/test_sql.py`` compares it with the ORM's rows.

Deliveries go only to the endpoints among ``endpoint_ids`` that still exist and are
enabled when the row is written: the ids come from a cache that may be a moment
behind an endpoint's deletion, and a delivery to a deleted endpoint would fail the
payment's commit (a deferred foreign key).
"""

from django.db import connection

from webhooks.models import Delivery, Endpoint, Event

_EVENT, _DELIVERY, _ENDPOINT = (m._meta.db_table for m in (Event, Delivery, Endpoint))

INSERT_EVENT = f"""
WITH event AS (
    INSERT INTO {_EVENT} (business_id, type, msg_id, payload, subject_id, created_at)
    SELECT %(business_id)s, %(type)s, %(msg_id)s, NULL, %(subject_id)s, %(moment)s
    WHERE EXISTS (
        SELECT FROM {_ENDPOINT} WHERE id = ANY(%(endpoint_ids)s) AND is_enabled
    )
    RETURNING id
)
INSERT INTO {_DELIVERY}
    (event_id, endpoint_id, status, attempts, next_attempt_at, last_status_code,
     created_at, delivered_at)
SELECT event.id, endpoint.id, %(pending)s, 0, %(moment)s, NULL, %(moment)s, NULL
FROM event, {_ENDPOINT} AS endpoint
WHERE endpoint.id = ANY(%(endpoint_ids)s) AND endpoint.is_enabled
ORDER BY endpoint.id
RETURNING endpoint_id
"""  # noqa: S608 (table names from the models, values as parameters)


def insert_event(event: Event, endpoint_ids: list[int]) -> list[int]:
    """Write ``event`` (unsaved, no payload: the sender builds it) and a due delivery
    to each of ``endpoint_ids`` still enabled; those endpoints' ids (none: nothing
    written). PostgreSQL only."""
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_EVENT,
            {
                "business_id": event.business_id,
                "type": event.type,
                "msg_id": event.msg_id,
                "subject_id": event.subject_id,
                "moment": event.created_at,
                "pending": Delivery.Status.PENDING,
                "endpoint_ids": list(endpoint_ids),
            },
        )
        return [row[0] for row in cursor.fetchall()]
