"""A business with one member of each role, and a second business next door."""

from types import SimpleNamespace

import pytest

from accounts import services
from accounts.models import Membership
from accounts.tests.factories import UserFactory, create_business, join

ROLE = Membership.Role


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.com", display_name="Olga Owner")


@pytest.fixture
def business(owner):
    return create_business(owner=owner, name="Padaria Central", slug="padaria-central")


@pytest.fixture
def admin(business):
    return join(
        business=business, role=ROLE.ADMIN, user=UserFactory(email="admin@example.com")
    ).user


@pytest.fixture
def agent(business):
    return join(
        business=business, role=ROLE.AGENT, user=UserFactory(email="agent@example.com")
    ).user


@pytest.fixture
def outsider(db):
    """Signed in somewhere, member of nothing."""
    return UserFactory(email="outsider@example.com")


@pytest.fixture
def other(db):
    """The owner of another business, with an admin and an agent of their own."""
    other_owner = UserFactory(email="other-owner@example.com")
    business = create_business(owner=other_owner, name="Loja Vizinha", slug="loja-vizinha")
    return SimpleNamespace(
        owner=other_owner,
        business=business,
        admin=join(business=business, role=ROLE.ADMIN).user,
        agent=join(business=business, role=ROLE.AGENT).user,
    )


@pytest.fixture
def world(business, owner, admin, agent, outsider, other):
    """All of the above, plus a pending invitation: what the permission tables probe."""
    invitation, _key = services.invite_member(
        actor=owner, business=business, email="pending@example.com", role=ROLE.AGENT
    )
    return SimpleNamespace(
        business=business,
        owner=owner,
        admin=admin,
        agent=agent,
        outsider=outsider,
        other=other,
        agent_membership=business.memberships.get(user=agent),
        invitation=invitation,
    )
