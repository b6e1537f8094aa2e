"""The OpenAPI schema (/api/schema/) documents, for every operation, a summary and the
error answers it can give, with the bodies the API really returns (core.openapi)."""

import json

import jsonschema
import pytest
from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from core.openapi import summary_from_operation_id

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_OR_FIELDS = {"anyOf": [ERROR, {"$ref": "#/components/schemas/ValidationError"}]}


@pytest.fixture(scope="module")
def spec():
    with translation.override("en"):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        return json.loads(OpenApiJsonRenderer().render(schema))


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def _body(response: dict) -> dict | None:
    return response.get("content", {}).get("application/json", {}).get("schema")


def test_every_operation_has_a_summary(spec):
    # given the generated schema / when reading each operation / then it has a summary
    missing = [name for name, operation in _operations(spec) if not operation.get("summary")]
    assert not missing


def test_every_operation_documents_its_error_answers_with_the_error_body(spec):
    # given the generated schema
    wrong = []
    # when reading each operation's responses
    for name, operation in _operations(spec):
        responses = operation["responses"]
        params = operation.get("parameters", [])
        expected = {"401": ERROR, "503": ERROR}
        if any(p["in"] == "path" for p in params):
            expected["404"] = ERROR
        if "requestBody" in operation or any(p["in"] == "query" for p in params):
            expected["400"] = ERROR_OR_FIELDS
        if any(p["name"] == "Idempotency-Key" for p in params):
            expected |= {"400": ERROR_OR_FIELDS, "409": ERROR, "422": ERROR}
        if {} not in operation["security"] and not name.startswith("GET"):
            expected["403"] = ERROR
        # then each expected status is there, with its body
        for status, body in expected.items():
            if status not in responses or _body(responses[status]) != body:
                wrong.append(f"{name} {status}")
            elif not responses[status].get("description"):
                wrong.append(f"{name} {status} has no description")
    assert not wrong


def test_the_pay_endpoint_documents_payment_in_progress(spec):
    # given the pay operation / when reading its 503 / then it says to retry with the key
    response = spec["paths"]["/api/v1/orders/{order_id}/pay/"]["post"]["responses"]["503"]
    assert _body(response) == ERROR
    assert "payment_in_progress" in response["description"]
    assert "Retry-After" in response["headers"]


def test_the_error_component_is_the_exception_handlers_body(spec):
    # given the components / when reading Error / then code, detail and field, detail required
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "detail", "field"}
    assert error["required"] == ["detail"]


def test_the_schema_still_validates(spec):
    # given the generated schema / when validating it as drf-spectacular's --validate does
    # then it raises nothing
    validate_schema(spec)


def test_a_summary_from_an_operation_id():
    assert summary_from_operation_id("v1_businesses_members_partial_update") == (
        "Partially update businesses members"
    )
    assert summary_from_operation_id("v1_me_retrieve") == "Get me"


def _conforms(spec, body, component):
    jsonschema.validate(
        body, {"$ref": f"#/components/schemas/{component}", "components": spec["components"]}
    )


@pytest.mark.django_db
def test_the_documented_shapes_are_the_real_ones(spec, owner):
    # given an anonymous client and a signed-in one
    anonymous, client = APIClient(), APIClient()
    client.force_authenticate(owner)

    # when the API refuses in each way it can
    unauthenticated = anonymous.get("/api/v1/me")
    not_found = client.get("/api/v1/orders/999999/")
    app_error = client.post("/api/v1/orders/999999/pay/", {}, format="json")
    invalid = client.patch("/api/v1/me", {"language": "xx-nope"}, format="json")

    # then each body is what the schema documents
    assert unauthenticated.status_code == 401
    _conforms(spec, unauthenticated.json(), "Error")
    assert not_found.status_code == 404
    _conforms(spec, not_found.json(), "Error")
    assert app_error.status_code == 400
    assert app_error.json()["code"] == "idempotency_key_missing"
    _conforms(spec, app_error.json(), "Error")
    assert invalid.status_code == 400
    assert "language" in invalid.json()
    _conforms(spec, invalid.json(), "ValidationError")
