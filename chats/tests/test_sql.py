"""chats/sql.py's raw statements give what the ORM gives."""

import pytest
from django.db.models import Q

from accounts.models import Membership, User
from accounts.tests.factories import MembershipFactory, UserFactory
from chats import selectors, sql
from chats.models import Participant
from chats.services import conversations
from chats.tests.factories import start_chat

pytestmark = pytest.mark.django_db


def _orm_viewer_languages(conversation_ids) -> set[str]:
    participants = Participant.objects.filter(conversation_id__in=conversation_ids)
    users = User.objects.filter(
        Q(pk__in=participants.filter(user__isnull=False).values("user_id"))
        | Q(
            pk__in=Membership.objects.filter(
                business_id__in=participants.filter(business__isnull=False).values("business_id")
            ).values("user_id")
        )
    )
    return set(users.values_list("language", flat=True))


def test_viewer_languages_are_the_users_and_the_members_languages(business, other):
    customer = UserFactory(language="es")
    MembershipFactory(user=UserFactory(language="fr"), business=business)
    MembershipFactory(user=UserFactory(language="pt-br"), business=other.business)  # not here
    shop_chat = start_chat(business, customer)
    friend, peer = UserFactory(language="pt-br"), UserFactory(language="")
    direct, _created = conversations.start_direct_conversation(user=friend, peer=peer)
    unrelated = start_chat(other.business, UserFactory(language="fr"))

    for ids in ([shop_chat.pk], [direct.pk], [shop_chat.pk, direct.pk], [unrelated.pk], [0], []):
        assert set(sql.viewer_languages(ids)) == _orm_viewer_languages(ids), ids

    assert selectors.list_viewer_languages([shop_chat.pk]) == ["en", "es", "fr"]  # owner: "en"
    assert selectors.list_viewer_languages([direct.pk]) == ["pt-br"]  # blank: the site's
