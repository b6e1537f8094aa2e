"""``Idempotency-Key`` for API operations a client may retry (order create, pay).

Per (user, key) the first request claims an :class:`IdempotencyRecord` by INSERT —
the ``idempotency_key_unique`` constraint decides between concurrent requests, not a
prior read — together with a hash of the request (method, path, canonical JSON
body). Then:

- a repeat with the same hash gets the stored status code and body back
  (header ``Idempotent-Replayed: true``) and the operation does not run again;
- the same key with another request → 422 ``idempotency_key_reused``;
- a repeat while the first is still running (a record without a response whose
  lease, ``IDEMPOTENCY_LEASE`` seconds, has not run out) → 409
  ``idempotency_in_progress``;
- a repeat after the lease of a record without a response (its request died: a
  ``kill -9``, a lost connection to the database) takes the record over — a
  conditional UPDATE, so one retry wins — and runs the operation again. That is safe
  because the operation is idempotent on its own: the pay service's key is derived
  from this header (:func:`payment_key`), so the repeat finds the first attempt and
  recovers its outcome from the gateway (``payments.services.recovery``) instead of
  charging again. The lease also guards ``finish``/``release``: a request that lost
  its record to a retry stores nothing over the retry's;
- every response below 500 is stored, 4xx errors included (a replayed declined
  payment is the same decline); a 5xx or an unexpected exception releases the key,
  so the client may retry (the pay service's own idempotency key, derived from the
  same header, still stops a second charge).

Records older than :data:`KEEP_FOR` may be removed by :func:`purge_idempotency_records`.

The request hash is an HMAC keyed with ``SECRET_KEY``, not a bare SHA-256: the pay
body carries the 6-digit PIN, and a plain hash of it in the database would allow an
offline search of the 10⁶ PINs (see "PIN storage" in docs/payments.md).
"""

import datetime
import functools
import hashlib
import hmac
import json
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import AppError
from payments.models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP_FOR = datetime.timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, no spaces
_PAYMENT_KEY_MAX = 64  # Payment.idempotency_key's max_length


def request_key(request) -> str:
    """The request's ``Idempotency-Key``; AppError 400 when missing or malformed."""
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        raise AppError(
            _("Send an Idempotency-Key header (for example a new UUID) with this request."),
            code="idempotency_key_missing",
        )
    if not _KEY.fullmatch(key):
        raise AppError(
            _("The Idempotency-Key must be 1 to 255 printable characters without spaces."),
            code="idempotency_key_invalid",
        )
    return key


def payment_key(*, user, key: str) -> str:
    """The key handed to ``paying.pay_order``: scoped to the user (another user's key,
    or a web form's one-time token, never collides) and short enough for
    ``Payment.idempotency_key``."""
    scoped = f"api:{user.pk}:{key}"
    if len(scoped) <= _PAYMENT_KEY_MAX:
        return scoped
    return f"api:{user.pk}:h:" + hashlib.sha256(key.encode()).hexdigest()[:40]


def request_hash(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict (form-encoded body): keep repeated values
        data = dict(data.lists())
    return hash_request(request.method, request.path, data)


def hash_request(method: str, path: str, data) -> str:
    """HMAC-SHA256 (keyed with ``SECRET_KEY``) of the method, path and canonical JSON
    body (keys sorted, no spaces)."""
    canonical = json.dumps(
        [method, path, data],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hmac.new(settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def _stored(response: Response) -> object:
    """The body exactly as the client received it, as JSON-ready data."""
    if response.data is None:
        return None
    return json.loads(JSONRenderer().render(response.data))


def _lease_end(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE)


def claim(
    *, user, key: str, endpoint: str, digest: str, takeover: bool = True
) -> IdempotencyRecord | Response:
    """Claim ``key`` for this request (the new record, or an abandoned one taken over
    after its lease) or answer for an earlier one (the stored response, or AppError
    409/422). ``takeover=False`` never takes a record over (409 until purged): for
    an operation with no key of its own, which a rerun could do twice. The INSERT or
    UPDATE runs in its own transaction, so other requests see the claim at once; call
    it outside any ``transaction.atomic()`` block."""
    now = timezone.now()
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                user=user,
                key=key,
                endpoint=endpoint[:255],
                request_hash=digest,
                locked_until=_lease_end(now),
            )
    except IntegrityError:
        pass
    first = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if first is not None and not hmac.compare_digest(first.request_hash, digest):
        raise AppError(
            _("This Idempotency-Key was already used for a different request."),
            code="idempotency_key_reused",
            status_code=422,
        )
    if takeover and first is not None and first.status_code is None:
        lease = datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE)
        expired = Q(locked_until__lte=now) | Q(
            locked_until__isnull=True, created_at__lte=now - lease
        )
        if IdempotencyRecord.objects.filter(expired, pk=first.pk, status_code__isnull=True).update(
            locked_until=_lease_end(now)
        ):
            first.refresh_from_db()
            return first  # the first request died: this retry runs it again
    if first is None or first.status_code is None:
        # Still running (or released a moment ago by a failed first request).
        raise AppError(
            _("A request with this Idempotency-Key is still being processed. Retry shortly."),
            code="idempotency_in_progress",
            status_code=409,
        )
    response = Response(first.response, status=first.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def finish(record: IdempotencyRecord, response: Response) -> None:
    """Store the response of a claimed request, or release the key after a 5xx."""
    if response.status_code >= 500:
        release(record)
        return
    _held(record).update(status_code=response.status_code, response=_stored(response))


def release(record: IdempotencyRecord) -> None:
    _held(record).delete()


def _held(record: IdempotencyRecord):
    """The record while this request still holds it (not answered, not taken over)."""
    return IdempotencyRecord.objects.filter(
        pk=record.pk, status_code__isnull=True, locked_until=record.locked_until
    )


def idempotent(handler=None, *, takeover: bool = True, required: bool = True):
    """Decorate an ``APIView`` handler (``post``) to require and honour an
    ``Idempotency-Key`` header (``required=False``: to honour one when sent, and run
    the handler as it is without one). The handler's expected errors (AppError, 404,
    validation) become responses here, through the view's exception handler, so
    that they are stored and replayed too. The handler receives the key as
    ``request.idempotency_key``.

    ``@idempotent`` lets a retry take over a key whose request died (after the
    lease): only for handlers whose service finds its first attempt by a key derived
    from the header (pay, send, refund, withdraw). ``@idempotent(takeover=False)``
    for the others (creating an order or a money request), which a rerun would do
    twice."""
    if handler is None:
        return functools.partial(idempotent, takeover=takeover, required=required)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        if not required and not (request.headers.get(HEADER) or "").strip():
            return handler(view, request, *args, **kwargs)
        key = request_key(request)
        outcome = claim(
            user=request.user,
            key=key,
            endpoint=f"{request.method} {request.path}",
            digest=request_hash(request),
            takeover=takeover,
        )
        if isinstance(outcome, Response):
            return outcome
        request.idempotency_key = key
        try:
            response = handler(view, request, *args, **kwargs)
        except Exception as exc:
            try:
                response = view.handle_exception(exc)  # re-raises what is a 500
            except BaseException:
                release(outcome)
                raise
        except BaseException:
            release(outcome)
            raise
        finish(outcome, response)
        return response

    return wrapper


def purge_idempotency_records(*, now: datetime.datetime | None = None) -> int:
    """Delete records older than :data:`KEEP_FOR`; returns how many. Idempotent."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _rows = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
