import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.utils import timezone

from accounts import selectors, services
from accounts.models import Business, Invitation, Membership
from accounts.tests.factories import UserFactory, create_business

ROLE = Membership.Role


def _deactivate(business):
    # Platform staff switch a business off in the admin; no service does it yet.
    Business.objects.filter(pk=business.pk).update(is_active=False)


# --- get_business_for: the permission check -----------------------------------------


@pytest.mark.parametrize(
    ("who", "min_role", "allowed"),
    [
        ("owner", ROLE.OWNER, True),
        ("admin", ROLE.ADMIN, True),
        ("admin", ROLE.OWNER, False),
        ("agent", ROLE.AGENT, True),
        ("agent", ROLE.ADMIN, False),
        ("outsider", ROLE.AGENT, False),
        ("other_owner", ROLE.AGENT, False),
        ("anonymous", ROLE.AGENT, False),
    ],
)
def test_get_business_for_checks_the_role(
    business, owner, admin, agent, outsider, other, who, min_role, allowed
):
    user = {
        "owner": owner,
        "admin": admin,
        "agent": agent,
        "outsider": outsider,
        "other_owner": other.owner,
        "anonymous": AnonymousUser(),
    }[who]

    if allowed:
        found = selectors.get_business_for(user=user, slug=business.slug, min_role=min_role)
        assert found == business
        assert found.membership.user == user
    else:
        with pytest.raises(Http404):
            selectors.get_business_for(user=user, slug=business.slug, min_role=min_role)


def test_missing_and_forbidden_look_the_same(business, outsider):
    with pytest.raises(Http404):
        selectors.get_business_for(user=outsider, slug="no-such-shop")
    with pytest.raises(Http404):
        selectors.get_business_for(user=outsider, slug=business.slug)


def test_an_inactive_business_is_not_found_even_by_its_owner(business, owner):
    _deactivate(business)

    with pytest.raises(Http404):
        selectors.get_business_for(user=owner, slug=business.slug)
    assert list(selectors.list_memberships_for(user=owner)) == []


def test_list_memberships_for_lists_the_user_businesses_by_name(owner):
    zebra = create_business(owner=owner, name="Zebra")
    alpha = create_business(owner=owner, name="Alpha")
    create_business(name="Not mine")

    memberships = selectors.list_memberships_for(user=owner)

    assert [m.business for m in memberships] == [alpha, zebra]


# --- Public reads ------------------------------------------------------------------------


@pytest.fixture
def directory(db):
    return {
        "bakery": create_business(name="Padaria Sol", city="Recife", category="food"),
        "shoes": create_business(
            name="Sapatos", about="Calçados feitos à mão", city="Recife", category="apparel"
        ),
        "salon": create_business(name="Salão Bela", city="São Paulo", category="beauty"),
        "closed": create_business(name="Padaria Fechada", city="Olinda", category="food"),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["bakery", "salon", "shoes"]),
        ({"q": "padaria"}, ["bakery"]),
        ({"q": "PADARIA"}, ["bakery"]),
        ({"q": "feitos"}, ["shoes"]),
        ({"q": "recife"}, ["bakery", "shoes"]),
        ({"city": "RECIFE"}, ["bakery", "shoes"]),
        ({"category": "food"}, ["bakery"]),
        ({"q": "sapatos", "category": "food"}, []),
    ],
)
def test_list_public_businesses_filters_and_hides_inactive(directory, filters, expected):
    _deactivate(directory["closed"])

    found = list(selectors.list_public_businesses(**filters))

    assert found == [directory[key] for key in expected]


def test_list_public_cities_is_distinct_and_skips_inactive_and_blank(directory):
    _deactivate(directory["closed"])
    create_business(name="Sem cidade")

    assert selectors.list_public_cities() == ["Recife", "São Paulo"]


def test_get_public_business_orders_hours_and_hides_inactive(business, owner):
    t = datetime.time
    services.set_opening_hours(
        actor=owner, business=business, hours=[(5, t(9), t(13)), (0, t(9), t(18))]
    )

    found = selectors.get_public_business(slug=business.slug)
    assert [h.weekday for h in found.hours.all()] == [0, 5]

    _deactivate(business)
    with pytest.raises(Http404):
        selectors.get_public_business(slug=business.slug)
    with pytest.raises(Http404):
        selectors.get_public_business(slug="nope")


# --- Team reads --------------------------------------------------------------------------


def test_list_members_puts_owners_first(business, owner, admin, agent):
    members = selectors.list_members(business=business)

    assert [(m.user, m.role) for m in members] == [
        (owner, ROLE.OWNER),
        (admin, ROLE.ADMIN),
        (agent, ROLE.AGENT),
    ]


@pytest.mark.parametrize("membership_id", ["own-of-other", 999_999, "x", None])
def test_get_membership_for_is_scoped_to_the_business(business, other, membership_id):
    if membership_id == "own-of-other":
        membership_id = other.business.memberships.first().pk

    with pytest.raises(Http404):
        selectors.get_membership_for(business=business, membership_id=membership_id)


def test_list_pending_invitations_skips_ended_ones(business, owner):
    def invite(email):
        return services.invite_member(actor=owner, business=business, email=email, role="agent")

    pending, _ = invite("pending@example.com")
    expired, _ = invite("expired@example.com")
    revoked, _ = invite("revoked@example.com")
    _accepted, key = invite("accepted@example.com")
    Invitation.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    services.revoke_invitation(actor=owner, invitation=revoked)
    services.accept_invitation(user=UserFactory(email="accepted@example.com"), key=key)

    assert selectors.list_pending_invitations(business=business) == [pending]


def test_invitations_are_scoped_to_their_business(business, owner, other):
    theirs, key = services.invite_member(
        actor=other.owner, business=other.business, email="x@example.com", role="agent"
    )

    with pytest.raises(Http404):
        selectors.get_invitation_for(business=business, invitation_id=theirs.pk)
    assert selectors.get_invitation_for(business=other.business, invitation_id=theirs.pk) == theirs
    assert selectors.get_invitation_by_key(key=key) == theirs
    with pytest.raises(Http404):
        selectors.get_invitation_by_key(key="nope")


# --- Tokens ------------------------------------------------------------------------------


def test_tokens_are_listed_and_fetched_for_their_owner_only(db):
    user, someone = UserFactory(), UserFactory()
    kept, _ = services.create_api_token(user=user, name="kept")
    revoked, _ = services.create_api_token(user=user, name="revoked")
    services.revoke_api_token(user=user, token=revoked)

    assert list(selectors.list_tokens(user=user)) == [kept]
    assert selectors.get_token_for(user=user, token_id=kept.pk) == kept
    for who, token_id in [(someone, kept.pk), (user, revoked.pk), (user, "x")]:
        with pytest.raises(Http404):
            selectors.get_token_for(user=who, token_id=token_id)


def test_nul_bytes_never_reach_the_database(business, owner):
    with pytest.raises(Http404):
        selectors.get_business_for(user=owner, slug="padaria-central\x00")

    # The NUL is dropped: what is left is searched as usual.
    assert list(selectors.list_public_businesses(q="pada\x00ria", city="\x00")) == [business]
    assert list(selectors.list_public_businesses(q="\x00nowhere")) == []
