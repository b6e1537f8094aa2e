"""The OpenAPI schema's error answers and summaries, in one place for every operation.

:class:`AutoSchema` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds to each operation
the error responses it can give, with the bodies the API really returns:

- ``Error`` — ``{"code", "detail", "field"?}`` from :func:`core.api.exception_handler`
  for an :class:`core.errors.AppError`; DRF's own errors (401 no or a bad token, 403
  refused, 404 not found, a malformed JSON body) are ``{"detail"}`` alone, so ``code``
  is optional;
- ``ValidationError`` — DRF's field errors, ``{"<field>": ["message", …]}``
  (``non_field_errors`` for the whole input; nested objects for nested inputs).

Which statuses an operation documents follows from what it is (see :func:`error_statuses`);
a status the view already documents keeps its description and gets the body when it has
none. An operation without a summary gets the first line of its docstring, or one made
from its operation id.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
IDEMPOTENCY_HEADER = "Idempotency-Key"

ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "An error. `detail` is a message for people (in the user's language); `code` is "
        "stable, for programs, and is present on every application error (errors of the "
        "framework itself — no or a bad token, not found, a malformed body — carry only "
        "`detail`); `field` names the input field the error is about, when there is one."
    ),
    "properties": {
        "code": {"type": "string", "example": "card_declined"},
        "detail": {"type": "string", "example": "The card was declined."},
        "field": {"type": "string", "example": "card_id"},
    },
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": (
        "The input did not validate: each invalid field maps to a list of messages "
        "(`non_field_errors` for the input as a whole); a nested object or list maps to "
        "the same structure for its own fields."
    ),
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}]
    },
    "example": {"quantity": ["Ensure this value is greater than or equal to 1."]},
}

DESCRIPTIONS = {
    400: _(
        "The request is invalid: field errors (`ValidationError`), or an application "
        "error (`Error`) such as a missing Idempotency-Key or a refused operation."
    ),
    401: _("No credentials, or an invalid, revoked or expired token."),
    403: _(
        "Not allowed: your role does not permit this, or (signed in with a session "
        "cookie) the CSRF check failed."
    ),
    404: _("Not found, or not visible to you (the API answers the same for both)."),
    409: _(
        "Conflict: the object's current state does not allow this (e.g. an order that "
        "is no longer payable), or a request with the same Idempotency-Key is still running."
    ),
    422: _("This Idempotency-Key was already used for a different request."),
    503: _(
        "Temporarily unavailable (`unavailable`: the database cannot be reached); retry "
        "after the `Retry-After` seconds."
    ),
}
# What a 503 means for the operations with an Idempotency-Key (among them all those
# that reach the payment service: pay, send money, refund, withdraw).
PAYMENT_UNAVAILABLE = _(
    "Temporarily unavailable: the database or (to charge, refund or pay out) the payment "
    "service cannot be reached "
    "(`unavailable`, `gateway_unavailable`), or the payment service has not decided yet "
    "(`gateway_pending`, `payment_in_progress`: the outcome of the payment is not known "
    "yet). Retry with the same Idempotency-Key: it is released for a retry, and the "
    "operation never runs twice."
)


def error_statuses(
    *, method: str, has_path_params: bool, has_input: bool, idempotent: bool, public: bool
) -> set[int]:
    """The error statuses an operation can answer, from what it is."""
    statuses = {401, 503}  # a bad token on any operation; the database outage (core.outage)
    if has_input or method in UNSAFE:
        statuses.add(400)
    if not public and (has_path_params or method in UNSAFE):
        statuses.add(403)  # a role or ownership check, or CSRF with a session cookie
    if has_path_params:
        statuses.add(404)
    if idempotent or (has_path_params and method in UNSAFE):
        statuses.add(409)
    if idempotent:
        statuses.add(422)
    return statuses


class AutoSchema(SpectacularAutoSchema):
    def get_summary(self) -> str | None:
        summary = super().get_summary()
        if summary:
            return summary
        doc = (self.get_description() or "").strip()
        if doc:
            return doc.splitlines()[0].split(": ")[0].strip().rstrip(".")
        return None  # set from the operation id in get_operation

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        if not operation.get("summary"):
            operation["summary"] = summary_from_operation_id(operation["operationId"])
        parameters = operation.get("parameters", [])
        idempotent = any(
            p["in"] == "header" and p["name"] == IDEMPOTENCY_HEADER for p in parameters
        )
        statuses = error_statuses(
            method=self.method,
            has_path_params=any(p["in"] == "path" for p in parameters),
            has_input="requestBody" in operation
            or any(p["in"] in ("query", "header") for p in parameters),
            idempotent=idempotent,
            public={} in operation.get("security", []),
        )
        descriptions = DESCRIPTIONS | ({503: PAYMENT_UNAVAILABLE} if idempotent else {})
        responses = operation["responses"]
        for status in sorted(statuses):
            response = responses.setdefault(str(status), {"description": descriptions[status]})
            if "content" not in response:
                response["content"] = {"application/json": {"schema": self._error_body(status)}}
            if status == 401:
                response.setdefault("headers", {})["WWW-Authenticate"] = {
                    "schema": {"type": "string", "example": "Bearer"},
                    "description": "The scheme to authenticate with.",
                }
            if status == 503:
                response.setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before retrying, when known.",
                }
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_body(self, status: int) -> dict:
        error = self._component("Error", ERROR_SCHEMA)
        if status != 400:
            return error
        return {"anyOf": [error, self._component("ValidationError", VALIDATION_ERROR_SCHEMA)]}

    def _component(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref


def summary_from_operation_id(operation_id: str) -> str:
    """``v1_businesses_members_partial_update`` → ``Partially update businesses members``."""
    words = operation_id.split("_")
    if words and words[0].startswith("v") and words[0][1:].isdigit():
        words = words[1:]
    verbs = {
        ("partial", "update"): "Partially update",
        ("update",): "Update",
        ("retrieve",): "Get",
        ("list",): "List",
        ("create",): "Create",
        ("destroy",): "Delete",
    }
    for suffix, verb in verbs.items():
        if tuple(words[-len(suffix) :]) == suffix:
            return " ".join([verb, *words[: -len(suffix)]])
    return " ".join(words).capitalize()
