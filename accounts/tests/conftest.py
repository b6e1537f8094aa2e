"""The permission tables' world. The people in it (``owner``, ``business``, ``admin``,
``agent``, ``outsider``, ``other``) are the root conftest's."""

from types import SimpleNamespace

import pytest

from accounts import services
from accounts.models import Membership


@pytest.fixture
def world(business, owner, admin, agent, outsider, other):
    """All the people, plus a pending invitation: what the permission tables probe."""
    invitation, _key = services.invite_member(
        actor=owner, business=business, email="pending@example.com", role=Membership.Role.AGENT
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
