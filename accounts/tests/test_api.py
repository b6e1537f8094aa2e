import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Business, Invitation, Membership
from accounts.tests.factories import UserFactory, create_business

ROLE = Membership.Role


@pytest.fixture
def api():
    return APIClient()


def _as(api, user):
    api.force_authenticate(user)
    return api


def _bearer(user, name="test") -> APIClient:
    """A client that signs in the way a program does: with a personal token."""
    _token, raw = services.create_api_token(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _business_row(business) -> dict:
    return Business.objects.filter(pk=business.pk).values().get()


# --- Authentication ----------------------------------------------------------------------


def test_me_needs_authentication(api, db):
    response = api.get("/api/v1/me")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_bearer_token_signs_in(db):
    user = UserFactory(email="ana@example.com")

    response = _bearer(user).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "email": "ana@example.com",
        "display_name": user.display_name,
        "phone": "",
        "language": "en",
    }


def test_the_token_keyword_also_works(db):
    user = UserFactory()
    _token, raw = services.create_api_token(user=user, name="t")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")

    assert client.get("/api/v1/me").status_code == 200


def test_a_revoked_token_is_401(db):
    user = UserFactory()
    token, raw = services.create_api_token(user=user, name="t")
    services.revoke_api_token(user=user, token=token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    "header", ["Bearer cv_not-a-real-token", "Bearer", "Bearer a b", "Bearer nocvprefix"]
)
def test_bad_authorization_headers_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/me").status_code == 401


def test_a_bad_token_is_401_even_on_public_endpoints(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cv_wrong")

    assert client.get("/api/v1/businesses/").status_code == 401


# --- /me ------------------------------------------------------------------------------------


def test_patch_me_changes_the_profile_but_not_the_email(db):
    user = UserFactory(email="ana@example.com")

    response = _bearer(user).patch(
        "/api/v1/me",
        {"display_name": "Ana", "email": "evil@example.com", "phone": "+5511987654321"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == "Ana"
    user.refresh_from_db()
    assert (user.email, user.display_name, user.phone) == (
        "ana@example.com",
        "Ana",
        "+5511987654321",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"display_name": "<script>alert(1)</script>"}, "display_name"),
        ({"phone": "12345"}, "phone"),
        ({"language": "klingon"}, "language"),
    ],
)
def test_patch_me_with_bad_data_is_400_and_changes_nothing(api, db, data, field):
    user = UserFactory(display_name="Ana")

    response = _as(api, user).patch("/api/v1/me", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    user.refresh_from_db()
    assert (user.display_name, user.phone, user.language) == ("Ana", "", "en")


# --- Public businesses ------------------------------------------------------------------------


def test_the_directory_is_public_and_searchable(api, db):
    create_business(name="Padaria Sol", city="Recife", category="food")
    create_business(name="Sapataria", city="Recife", category="apparel")
    hidden = create_business(name="Padaria Fechada", city="Recife", category="food")
    Business.objects.filter(pk=hidden.pk).update(is_active=False)

    everything = api.get("/api/v1/businesses/").json()
    found = api.get("/api/v1/businesses/", {"q": "padaria"}).json()
    by_category = api.get("/api/v1/businesses/", {"city": "recife", "category": "apparel"}).json()

    assert [b["name"] for b in everything["results"]] == ["Padaria Sol", "Sapataria"]
    assert everything["count"] == 2
    assert [b["slug"] for b in found["results"]] == ["padaria-sol"]
    assert [b["name"] for b in by_category["results"]] == ["Sapataria"]
    assert "fee_bps" not in found["results"][0]
    assert found["results"][0]["url"] == "http://testserver/s/padaria-sol/"


def test_the_directory_queries_do_not_grow_with_the_page(api, db, django_assert_max_num_queries):
    for i in range(15):
        create_business(name=f"Shop {i:02}")

    with django_assert_max_num_queries(2):
        response = api.get("/api/v1/businesses/")

    assert len(response.json()["results"]) == 15


def test_a_business_is_public_with_its_hours(api, business, owner):
    import datetime

    services.set_opening_hours(
        actor=owner, business=business, hours=[(0, datetime.time(9), datetime.time(18))]
    )

    response = api.get(f"/api/v1/businesses/{business.slug}/")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Padaria Central"
    assert body["hours"] == [{"weekday": 0, "opens": "09:00:00", "closes": "18:00:00"}]
    assert body["logo"] is None
    assert "fee_bps" not in body


def test_inactive_and_unknown_businesses_are_404(api, business):
    Business.objects.filter(pk=business.pk).update(is_active=False)

    assert api.get(f"/api/v1/businesses/{business.slug}/").status_code == 404
    assert api.get("/api/v1/businesses/nope/").status_code == 404


# --- PATCH a business -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_admins_patch_the_profile_and_the_fee_is_ignored(business, owner, admin, who):
    client = _bearer(owner if who == "owner" else admin)

    response = client.patch(
        f"/api/v1/businesses/{business.slug}/",
        {"about": "Pão quente", "fee_bps": 0, "website": "https://padaria.example/"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["about"] == "Pão quente"
    business.refresh_from_db()
    assert (business.about, business.website, business.fee_bps) == (
        "Pão quente",
        "https://padaria.example/",
        399,
    )


@pytest.mark.parametrize("typed", ["+55 11 98765-4321", "(11) 98765-4321", "+5511987654321"])
def test_patch_takes_a_phone_as_people_type_it(api, business, owner, typed):
    response = _as(api, owner).patch(
        f"/api/v1/businesses/{business.slug}/", {"phone": typed}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["phone"] == "+5511987654321"


def test_patch_me_takes_a_phone_as_people_type_it(api, db):
    user = UserFactory()

    response = _as(api, user).patch("/api/v1/me", {"phone": "+55 11 98765-4321"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.phone == "+5511987654321"


@pytest.mark.parametrize(
    "data",
    [
        {"website": "javascript:alert(1)"},
        {"store_url": "ftp://files.example.com/"},
        {"name": "<b>Bold</b>"},
        {"about": "<script>alert(1)</script>"},
        {"description": "<img src=x>"},
        {"city": "<!-- -->"},
        {"slug": "Bad Slug"},
        {"slug": "under_score"},
        {"timezone": "Mars/Base"},
        {"category": "weapons"},
        {"name": ""},
        {"about": "x" * 140},
        {"description": "x" * 513},
    ],
)
def test_patch_with_bad_data_is_400_with_field_errors(api, business, owner, data):
    before = _business_row(business)

    response = _as(api, owner).patch(f"/api/v1/businesses/{business.slug}/", data, format="json")

    assert response.status_code == 400
    (field,) = data
    body = response.json()
    assert field in body or body.get("field") == field
    assert _business_row(business) == before


@pytest.mark.parametrize("slug", ["loja-vizinha", "new"])
def test_patch_with_a_taken_slug_is_400_slug_taken(api, business, owner, other, slug):
    before = _business_row(business)

    response = _as(api, owner).patch(
        f"/api/v1/businesses/{business.slug}/", {"slug": slug}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "slug_taken"
    assert response.json()["field"] == "slug"
    assert _business_row(business) == before


def test_patch_needs_authentication(api, business):
    response = api.patch(f"/api/v1/businesses/{business.slug}/", {"name": "X"}, format="json")

    assert response.status_code == 401


# --- Every object endpoint is 404 to people without the role --------------------------------


# (method, path under /api/v1/businesses/<slug>/, least role, body)
OBJECT_ENDPOINTS = [
    ("patch", "", ROLE.ADMIN, {"name": "Hacked"}),
    ("get", "members/", ROLE.OWNER, None),
    ("patch", "members/{agent_membership}/", ROLE.OWNER, {"role": "owner"}),
    ("delete", "members/{agent_membership}/", ROLE.OWNER, None),
    ("get", "invitations/", ROLE.OWNER, None),
    ("post", "invitations/", ROLE.OWNER, {"email": "new@example.com", "role": "owner"}),
]
OBJECT_IDS = [f"{m}-{p or 'business'}" for m, p, _r, _b in OBJECT_ENDPOINTS]


def _state(business) -> dict:
    return {
        "business": _business_row(business),
        "members": list(business.memberships.values_list("user_id", "role").order_by("pk")),
        "invitations": list(business.invitations.values().order_by("pk")),
    }


def _call(client, world, method, path, body, slug=None):
    path = path.format(agent_membership=world.agent_membership.pk)
    url = f"/api/v1/businesses/{slug or world.business.slug}/{path}"
    return getattr(client, method)(url, body, format="json")


# Who asks, and their role in the business (None: not a member of it).
ASKERS = {
    "outsider": None,
    "other_owner": None,
    "other_admin": None,
    "other_agent": None,
    "agent": ROLE.AGENT,
    "admin": ROLE.ADMIN,
}
DENIED = [
    (who, *endpoint)
    for who, role in ASKERS.items()
    for endpoint in OBJECT_ENDPOINTS
    if role is None or Membership.rank(role) < Membership.rank(endpoint[2])
]


@pytest.mark.parametrize(
    ("who", "method", "path", "min_role", "body"),
    DENIED,
    ids=[f"{who}-{method}-{path or 'business'}" for who, method, path, *_ in DENIED],
)
def test_people_without_the_role_get_404(world, who, method, path, min_role, body):
    holder, _, name = who.rpartition("_")
    user = getattr(world.other if holder else world, name)
    before = _state(world.business)

    response = _call(_bearer(user), world, method, path, body)

    assert response.status_code == 404
    assert _state(world.business) == before


@pytest.mark.parametrize(("method", "path", "min_role", "body"), OBJECT_ENDPOINTS, ids=OBJECT_IDS)
def test_anonymous_gets_401(api, world, method, path, min_role, body):
    before = _state(world.business)

    response = _call(api, world, method, path, body)

    assert response.status_code == 401
    assert _state(world.business) == before


def test_another_business_member_ids_are_404_under_ones_own_slug(world):
    client = _bearer(world.other.owner)
    before = _state(world.business)
    url = f"/api/v1/businesses/{world.other.business.slug}/members/{world.agent_membership.pk}/"

    assert client.patch(url, {"role": "owner"}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert _state(world.business) == before


# --- Members --------------------------------------------------------------------------------


def test_owner_lists_members_owners_first(api, world):
    response = _as(api, world.owner).get(f"/api/v1/businesses/{world.business.slug}/members/")

    assert response.status_code == 200
    assert [(m["email"], m["role"]) for m in response.json()] == [
        ("owner@example.com", "owner"),
        ("admin@example.com", "admin"),
        ("agent@example.com", "agent"),
    ]


def test_owner_changes_a_role(world):
    url = f"/api/v1/businesses/{world.business.slug}/members/{world.agent_membership.pk}/"

    response = _bearer(world.owner).patch(url, {"role": "admin"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    world.agent_membership.refresh_from_db()
    assert world.agent_membership.role == ROLE.ADMIN


def test_a_bad_role_is_400(api, world):
    url = f"/api/v1/businesses/{world.business.slug}/members/{world.agent_membership.pk}/"

    response = _as(api, world.owner).patch(url, {"role": "emperor"}, format="json")

    assert response.status_code == 400
    assert "role" in response.json()


def test_the_last_owner_cannot_be_demoted_or_removed(api, world):
    own = world.business.memberships.get(user=world.owner)
    url = f"/api/v1/businesses/{world.business.slug}/members/{own.pk}/"
    client = _as(api, world.owner)
    before = _state(world.business)

    demote = client.patch(url, {"role": "admin"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    remove = client.delete(url, HTTP_ACCEPT_LANGUAGE="en")

    for response in (demote, remove):
        assert response.status_code == 400
        assert response.json()["code"] == "last_owner"
        assert "at least one owner" in response.json()["detail"]
    assert _state(world.business) == before


def test_owner_removes_a_member(world):
    url = f"/api/v1/businesses/{world.business.slug}/members/{world.agent_membership.pk}/"

    response = _bearer(world.owner).delete(url)

    assert response.status_code == 204
    assert not Membership.objects.filter(pk=world.agent_membership.pk).exists()


# --- Invitations ------------------------------------------------------------------------------


def test_owner_lists_pending_invitations(api, world):
    response = _as(api, world.owner).get(f"/api/v1/businesses/{world.business.slug}/invitations/")

    assert response.status_code == 200
    assert [(i["email"], i["state"]) for i in response.json()] == [
        ("pending@example.com", "pending")
    ]
    assert "key_hash" not in response.json()[0]


def test_owner_invites_and_the_mail_leaves_after_commit(world, django_capture_on_commit_callbacks):
    client = _bearer(world.owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/businesses/{world.business.slug}/invitations/",
            {"email": "New@Example.com", "role": "admin"},
            format="json",
        )

    assert response.status_code == 201
    assert response.json()["email"] == "new@example.com"
    assert response.json()["state"] == "pending"
    assert Invitation.objects.get(pk=response.json()["id"]).role == ROLE.ADMIN
    (message,) = mail.outbox
    assert message.to == ["new@example.com"]
    assert "/invitations/" in message.body


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ({"email": "agent@example.com", "role": "admin"}, lambda b: b["code"] == "already_member"),
        ({"email": "not-an-email", "role": "agent"}, lambda b: "email" in b),
        ({"email": "x@example.com", "role": "emperor"}, lambda b: "role" in b),
        ({"role": "agent"}, lambda b: "email" in b),
    ],
)
def test_a_bad_invitation_is_400_and_sends_nothing(
    api, world, body, check, django_capture_on_commit_callbacks
):
    before = _state(world.business)

    with django_capture_on_commit_callbacks(execute=True):
        response = _as(api, world.owner).post(
            f"/api/v1/businesses/{world.business.slug}/invitations/", body, format="json"
        )

    assert response.status_code == 400
    assert check(response.json())
    assert mail.outbox == []
    assert _state(world.business) == before


# --- Schema and docs ------------------------------------------------------------------------


def test_the_schema_lists_the_endpoints(api, db):
    response = api.get("/api/schema/")

    assert response.status_code == 200
    schema = response.content.decode()
    for path in (
        "/api/v1/me",
        "/api/v1/businesses/",
        "/api/v1/businesses/{slug}/",
        "/api/v1/businesses/{slug}/members/",
        "/api/v1/businesses/{slug}/members/{membership_id}/",
        "/api/v1/businesses/{slug}/invitations/",
    ):
        assert f"{path}:" in schema
    assert "bearer" in schema


def test_the_docs_page_renders(api, db):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.parametrize(
    "query", [{"q": "\x00"}, {"q": "pada\x00ria"}, {"city": "\x00", "category": "\x00"}]
)
def test_the_directory_survives_nul_bytes(api, business, query):
    response = api.get("/api/v1/businesses/", query)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("language", "expected"), [("en", "Enter a valid phone number."), ("pt-br", "Informe")]
)
def test_a_token_user_gets_errors_in_their_own_language(db, language, expected):
    # given a token user with a preferred language, and a client that sends no Accept-Language
    user = UserFactory(language=language)

    # when they send bad input
    response = _bearer(user).patch("/api/v1/me", {"phone": "not a phone"}, format="json")

    # then the message is in their language, as on the web pages
    assert response.status_code == 400
    assert expected in response.json()["phone"][0]
    assert response["Content-Language"] == language
