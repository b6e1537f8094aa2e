"""The follow-up rules API (list, create, change, delete; the built-in check-in cannot
be deleted; template errors on `text`) and the ratings API (list, by score); admins
and owners only, anyone else and another business's rule "not found". And every
marketing endpoint is in the OpenAPI schema."""

import json

import pytest
from rest_framework.test import APIClient

from chats.models import Message
from chats.services import outbox
from marketing import services
from marketing.models import FollowUpRule, SatisfactionRating
from payments.services import shipping

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
GOOD = {"trigger": "shipped", "delay_days": 2, "text": "Oi {first_name}, #{order_number}"}


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def url(business, tail: str = "") -> str:
    return f"/api/v1/businesses/{business.slug}/follow-up-rules/{tail}"


def ratings_url(business) -> str:
    return f"/api/v1/businesses/{business.slug}/ratings/"


def own_rules(business):
    return list(
        FollowUpRule.objects.filter(business=business, is_default=False).values(
            "trigger", "delay_days", "text", "ask_rating", "is_active"
        )
    )


# --- Rules: happy paths -------------------------------------------------------------------


def test_the_list_shows_the_built_in_check_in(owner, business):
    response = api(owner).get(url(business), **EN)
    assert response.status_code == 200
    [default] = response.json()
    assert default["is_default"] is True and default["trigger"] == "delivered"
    assert default["delay_days"] == 3 and default["ask_rating"] is True
    assert "How is the {product} working out for you?" in default["text"]


def test_create_change_and_delete_a_rule(owner, business):
    client = api(owner)
    # when the owner creates a rule
    created = client.post(url(business), GOOD, format="json", **EN)
    assert created.status_code == 201, created.content
    rule = created.json()
    assert rule | GOOD == rule and rule["is_active"] is True and rule["ask_rating"] is False
    # and changes only its delay
    changed = client.patch(url(business, f"{rule['id']}/"), {"delay_days": 5}, format="json")
    assert changed.status_code == 200
    assert changed.json() == rule | {"delay_days": 5}
    assert client.get(url(business, f"{rule['id']}/")).json() == changed.json()
    # and deletes it
    deleted = client.delete(url(business, f"{rule['id']}/"))
    assert deleted.status_code == 204
    assert own_rules(business) == []


def test_the_built_in_check_in_cannot_be_deleted_but_can_be_turned_off(owner, business):
    client = api(owner)
    services.ensure_default_rule(business)
    default = FollowUpRule.objects.get(business=business, is_default=True)
    # when deleting it: the page's error
    response = client.delete(url(business, f"{default.pk}/"), **EN)
    assert response.status_code == 400
    assert response.json()["code"] == "default_rule"
    assert "cannot be deleted; turn it off instead" in response.json()["detail"]
    assert FollowUpRule.objects.filter(pk=default.pk).exists()
    # when turning it off: its text stays the built-in one, in each customer's language
    off = client.patch(url(business, f"{default.pk}/"), {"is_active": False}, format="json")
    assert off.status_code == 200 and off.json()["is_active"] is False
    default.refresh_from_db()
    assert default.text == "" and not default.is_active
    # and what was not sent kept its value (not the input's defaults)
    assert default.ask_rating and default.delay_days == 3 and default.trigger == "delivered"


# --- Rules: bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"text": "Oi {nome}"}, "text", "Unknown placeholder {nome}. You can use {first_name}"),
        ({"text": "Oi {first_name.__class__}"}, "text", "Unknown placeholder"),
        ({"text": "Oi {x!r}"}, "text", "Unknown placeholder {x!r}"),
        ({"text": "Oi }"}, "text", "brace"),
        ({"text": "<b>Oi</b>"}, "text", ""),
        ({"text": "x" * 10_000}, "text", "no more than 1000 characters"),
        ({"text": 42.5}, "text", "as a string"),
        ({"text": None}, "text", "may not be null"),
        ({"delay_days": 91}, "delay_days", "less than or equal to 90"),
        ({"delay_days": -1}, "delay_days", "greater than or equal to 0"),
        ({"delay_days": "3"}, "delay_days", "JSON integer"),
        ({"delay_days": 2.0}, "delay_days", "JSON integer"),
        ({"trigger": "never"}, "trigger", "not a valid choice"),
        ({"trigger": ["paid"]}, "trigger", ""),
        ({"ask_rating": "maybe"}, "ask_rating", "Must be a valid boolean"),
    ],
)
def test_a_bad_rule_is_refused_and_nothing_changes(owner, business, data, field, words):
    client = api(owner)
    existing = client.post(url(business), GOOD, format="json").json()
    before = own_rules(business)
    # when creating, or changing the existing rule, with a bad field
    for response in (
        client.post(url(business), GOOD | data, format="json", **EN),
        client.patch(url(business, f"{existing['id']}/"), data, format="json", **EN),
    ):
        # then 400 on that field, with the reason; nothing changed
        assert response.status_code == 400, response.content
        body = response.json()
        if "code" in body:
            assert body["field"] == field
            assert words in body["detail"]
        else:
            assert words in " ".join(map(str, body[field]))
    assert own_rules(business) == before


def test_at_most_twenty_rules(owner, business):
    client = api(owner)
    services.ensure_default_rule(business)
    for _i in range(services.MAX_RULES - 1):
        assert client.post(url(business), GOOD, format="json").status_code == 201
    response = client.post(url(business), GOOD, format="json", **EN)
    assert response.status_code == 400 and response.json()["code"] == "too_many_rules"
    assert FollowUpRule.objects.filter(business=business).count() == services.MAX_RULES


# --- Rules: who may -----------------------------------------------------------------------


def test_rules_for_admins_and_owners_only(owner, admin, agent, outsider, other, business):
    rule = api(owner).post(url(business), GOOD, format="json").json()
    operations = [
        ("get", url(business)),
        ("post", url(business)),
        ("get", url(business, f"{rule['id']}/")),
        ("patch", url(business, f"{rule['id']}/")),
        ("delete", url(business, f"{rule['id']}/")),
    ]
    for user in (agent, outsider, other.owner):
        client = api(user)
        for method, path in operations:
            response = getattr(client, method)(path, GOOD | {"delay_days": 9}, format="json")
            assert response.status_code == 404, (user, method, path)
    assert api().get(url(business)).status_code == 401
    assert own_rules(business)[0]["delay_days"] == 2
    changed = api(admin).patch(url(business, f"{rule['id']}/"), {"delay_days": 4}, format="json")
    assert changed.status_code == 200


def test_another_business_rule_is_not_found(owner, business, other):
    theirs = api(other.owner).post(url(other.business), GOOD, format="json").json()["id"]
    client = api(owner)
    assert client.get(url(business, f"{theirs}/")).status_code == 404
    assert client.patch(url(business, f"{theirs}/"), {"delay_days": 9}).status_code == 404
    assert client.delete(url(business, f"{theirs}/")).status_code == 404
    assert FollowUpRule.objects.get(pk=theirs).delay_days == 2


# --- Ratings ------------------------------------------------------------------------------


@pytest.fixture
def rated(owner, customer, paid_order, settings):
    """Carla rated her order 4."""
    settings.FOLLOWUP_DAY_SECONDS = 0
    shipping.mark_shipped(actor=owner, order=paid_order, carrier="Correios", tracking_code="AA1BR")
    shipping.mark_delivered(actor=owner, order=paid_order)
    outbox.send_due()
    checkin = Message.objects.get(conversation=paid_order.conversation, kind="followup")
    return services.rate_order(customer=customer, message=checkin, score=4)


def test_list_the_ratings_and_filter_by_score(owner, business, rated, paid_order):
    client = api(owner)
    listed = client.get(ratings_url(business)).json()
    assert listed["count"] == 1 and listed["average"] == 4.0 and listed["next"] is None
    [rating] = listed["results"]
    assert rating["order_id"] == paid_order.pk and rating["order_number"] == paid_order.number
    assert rating["score"] == 4 and rating["created_at"]
    assert client.get(ratings_url(business), {"score": 4}).json()["results"] == [rating]
    assert client.get(ratings_url(business), {"score": 5}).json()["results"] == []


@pytest.mark.parametrize("score", ["9", "0", "five", "4.5"])
def test_a_bad_score_filter_is_refused(owner, business, rated, score):
    response = api(owner).get(ratings_url(business), {"score": score}, **EN)
    assert response.status_code == 400 and "score" in response.json()


def test_ratings_for_admins_and_owners_of_the_business_only(
    admin, agent, outsider, other, business, rated
):
    assert api(admin).get(ratings_url(business)).status_code == 200
    for user in (agent, outsider, other.owner):
        assert api(user).get(ratings_url(business)).status_code == 404
    assert api(other.owner).get(ratings_url(other.business)).json()["results"] == []
    assert SatisfactionRating.objects.count() == 1


# --- The schema ---------------------------------------------------------------------------


def test_the_schema_describes_the_marketing_endpoints():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    shop = "/api/v1/businesses/{slug}/"
    for path, methods in {
        shop + "broadcasts/": {"get", "post"},
        shop + "broadcasts/{broadcast_id}/": {"get"},
        shop + "broadcasts/{broadcast_id}/cancel/": {"post"},
        shop + "follow-up-rules/": {"get", "post"},
        shop + "follow-up-rules/{rule_id}/": {"get", "patch", "delete"},
        shop + "ratings/": {"get"},
    }.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["summary"] and "404" in operation["responses"], (path, method)
            assert {"200", "201", "204"} & set(operation["responses"]), (path, method)
    create = paths[shop + "broadcasts/"]["post"]
    [key] = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and not key.get("required")
    assert {"201", "400", "409", "422"} <= set(create["responses"])
    ratings = paths[shop + "ratings/"]["get"]
    assert {p["name"] for p in ratings["parameters"]} >= {"score", "limit", "before"}
