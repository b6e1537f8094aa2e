import pytest

from accounts.tests.factories import UserFactory
from chats.models import Contact, Conversation, Message, Participant
from chats.services import conversations as chat_conversations
from chats.services import inbox, messages, receipts
from chats.services import settings as chat_settings
from chats.tests.factories import say, start_chat
from core.errors import AppError

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


def test_start_conversation_is_one_per_customer_and_keeps_first_touch(business, customer):
    first = start_chat(business, customer, ref="ig-bio", utm_source="instagram")
    again = start_chat(business, customer, ref="other")
    assert first.pk == again.pk
    assert again.ref == "ig-bio" and again.utm_source == "instagram"
    assert Contact.objects.filter(business=business, user=customer).count() == 1
    assert Participant.objects.filter(conversation=first).count() == 2


def test_staff_cannot_start_a_customer_chat_with_their_own_business(business, agent):
    with pytest.raises(AppError) as exc:
        start_chat(business, agent)
    assert exc.value.code == "own_business"


def test_messages_are_numbered_and_counted(business, customer, owner):
    conversation = start_chat(business, customer)
    say(customer, conversation, "Hi")
    say(customer, conversation, "Anyone?")
    reply = say(owner, conversation, "Hello Carla")
    assert reply.seq == 3
    business_side = Participant.objects.get(conversation=conversation, business=business)
    customer_side = Participant.objects.get(conversation=conversation, user=customer)
    # The business read everything by replying; the customer has one unread reply.
    assert (business_side.unread, business_side.last_read_seq) == (0, 3)
    assert (customer_side.unread, customer_side.last_read_seq) == (1, 2)
    conversation.refresh_from_db()
    assert conversation.last_seq == 3 and conversation.last_message_id == reply.pk


def test_resend_with_same_client_id_makes_one_message(business, customer):
    conversation = start_chat(business, customer)
    first, created = messages.send_text(
        actor=customer, conversation=conversation, body="Hi", client_id="abc-1"
    )
    again, created_again = messages.send_text(
        actor=customer, conversation=conversation, body="Hi", client_id="abc-1"
    )
    assert created and not created_again and first.pk == again.pk
    assert Message.objects.filter(conversation=conversation).count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * 4097])
def test_empty_or_oversized_text_is_refused(business, customer, body):
    conversation = start_chat(business, customer)
    with pytest.raises(AppError):
        say(customer, conversation, body)
    assert not Message.objects.exists()


def test_outsider_and_other_business_cannot_write(business, customer, outsider, other):
    conversation = start_chat(business, customer)
    for intruder in (outsider, other.owner, other.agent):
        with pytest.raises(AppError) as exc:
            say(intruder, conversation, "hi")
        assert exc.value.code == "not_found"
    assert not Message.objects.exists()


def test_agent_sees_only_unassigned_and_own(business, customer, agent, admin):
    conversation = start_chat(business, customer)
    say(agent, conversation, "Hi, I can help")
    inbox.assign(actor=admin, conversation=conversation, assignee_id=admin.pk)
    with pytest.raises(AppError):
        say(agent, conversation, "still here?")


def test_blocked_customer_cannot_write(business, customer, owner):
    conversation = start_chat(business, customer)
    inbox.block_contact(actor=owner, conversation=conversation, blocked=True)
    with pytest.raises(AppError) as exc:
        say(customer, conversation, "hello?")
    assert exc.value.code == "blocked"
    inbox.block_contact(actor=owner, conversation=conversation, blocked=False)
    assert say(customer, conversation, "hello again").seq == 1


def test_rate_limit(business, customer, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    conversation = start_chat(business, customer)
    for i in range(3):
        say(customer, conversation, f"m{i}")
    with pytest.raises(AppError) as exc:
        say(customer, conversation, "one too many")
    assert exc.value.code == "rate_limited"
    assert Message.objects.count() == 3


def test_mark_read_resets_unread_and_never_goes_back(business, customer, owner):
    conversation = start_chat(business, customer)
    for body in ("a", "b", "c"):
        say(customer, conversation, body)
    side = receipts.mark_read(actor=owner, conversation=conversation, seq=2)
    assert (side.last_read_seq, side.unread) == (2, 1)
    side = receipts.mark_read(actor=owner, conversation=conversation, seq=1)
    assert side.last_read_seq == 2
    side = receipts.mark_read(actor=owner, conversation=conversation, seq=999)
    assert (side.last_read_seq, side.unread) == (3, 0)


def test_direct_conversation_is_one_per_pair(customer):
    friend = UserFactory()
    first, created = chat_conversations.start_direct_conversation(user=customer, peer=friend)
    again, created_again = chat_conversations.start_direct_conversation(user=friend, peer=customer)
    assert created and not created_again and first.pk == again.pk
    assert first.kind == Conversation.Kind.DIRECT
    say(friend, first, "oi")
    with pytest.raises(AppError):
        chat_conversations.start_direct_conversation(user=customer, peer=customer)


def test_a_send_costs_five_queries(business, owner, customer, django_assert_num_queries):
    """Lock and read the conversation with its participants, insert, move the
    conversation, count both sides; staff add their membership check. (Plus the
    test's savepoint pair.) The hot path of every chat: keep it this lean."""
    conversation = start_chat(business, customer)
    say(customer, conversation, "warm up")
    say(owner, conversation, "warm up")
    with django_assert_num_queries(7):
        say(customer, conversation, "counted")
    with django_assert_num_queries(8):
        say(owner, conversation, "counted")


def _text(actor, conversation, body, client_id=None) -> messages.Send:
    return messages.text_message(
        actor=actor, conversation=conversation, body=body, client_id=client_id
    )


def _count_send_many(sends) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        results = messages.send_many(sends)
    assert all(isinstance(r, tuple) and r[1] for r in results), results
    return len(queries)


def test_sends_written_together_cost_the_same_statements_however_many(business, owner, agent):
    """What the chat socket hands the service under load: customers and staff, with
    client ids, in many conversations, in one transaction of a constant number of
    statements."""
    chats = [start_chat(business, UserFactory()) for _ in range(8)]
    for conversation in chats:
        say(conversation.contact.user, conversation, "warm up")

    def sends(conversations, tag):
        return [
            _text(actor, conversation, f"{tag} {i}", client_id=f"{tag}-{i}-{actor.pk}")
            for i, conversation in enumerate(conversations)
            for actor in (conversation.contact.user, owner if i % 2 else agent)
        ]

    two = _count_send_many(sends(chats[:1], "a"))
    many = _count_send_many(sends(chats, "b"))
    assert two == many
    assert Message.objects.count() == 8 + 2 + 16
    for conversation in chats[1:]:
        conversation.refresh_from_db()
        assert conversation.last_seq == 3
        assert list(conversation.messages.values_list("seq", "body")) == [
            (1, "warm up"),
            (2, f"b {chats.index(conversation)}"),
            (3, f"b {chats.index(conversation)}"),
        ]


def test_each_send_of_a_batch_is_refused_or_sent_on_its_own(business, owner, customer, other):
    # given a customer who already sent "x-1", a blocked customer, and another
    # business's conversation
    mine = start_chat(business, customer)
    say(customer, mine, "first", client_id="x-1")
    blocked = start_chat(business)
    inbox.block_contact(actor=owner, conversation=blocked, blocked=True)
    theirs = start_chat(other.business)

    # when they all arrive together
    results = messages.send_many(
        [
            _text(customer, mine, "sent", client_id="x-2"),
            _text(customer, theirs, "not mine"),
            _text(blocked.contact.user, blocked, "let me talk"),
            _text(customer, mine, "sent twice", client_id="x-2"),
            _text(customer, mine, "resent", client_id="x-1"),
            _text(owner, mine, "reply", client_id="x-2"),
            _text(owner, theirs, "not ours"),
        ]
    )

    # then each is answered on its own
    sent, not_mine, refused, twice, resent, reply, not_ours = results
    assert (sent[0].seq, sent[0].body, sent[1]) == (2, "sent", True)
    assert (not_mine.code, refused.code, not_ours.code) == ("not_found", "blocked", "not_found")
    assert (twice[0].pk, twice[1]) == (sent[0].pk, False)
    assert (resent[0].seq, resent[0].body, resent[1]) == (1, "first", False)
    assert (reply[0].seq, reply[0].author_id, reply[1]) == (3, owner.pk, True)  # its own id
    assert list(mine.messages.values_list("body", flat=True)) == ["first", "sent", "reply"]
    assert not theirs.messages.exists() and not blocked.messages.exists()


def test_a_batch_over_the_rate_limit_refuses_only_the_sends_past_it(business, customer, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    conversation = start_chat(business, customer)
    say(customer, conversation, "one")
    results = messages.send_many([_text(customer, conversation, f"m{i}") for i in range(4)])
    assert [r[0].seq if isinstance(r, tuple) else r.code for r in results] == [
        2, 3, "rate_limited", "rate_limited",
    ]  # fmt: skip
    assert conversation.messages.count() == 3


def _hours_closed_now(owner, business):
    """Opening hours that exclude the current moment (one hour, twelve hours from now)."""
    import datetime

    from django.utils import timezone

    from accounts import services as account_services

    local = timezone.now().astimezone(business.tz) + datetime.timedelta(hours=12)
    opens = local.time().replace(minute=0, second=0, microsecond=0)
    closes = (datetime.datetime.combine(local.date(), opens) + datetime.timedelta(hours=1)).time()
    account_services.set_opening_hours(
        actor=owner, business=business, hours=[(local.weekday(), opens, closes)]
    )


def test_greeting_on_first_contact_only(business, owner, customer):
    chat_settings.update_inbox_settings(
        actor=owner, business=business, greeting_enabled=True, greeting_text="Bem-vindo!"
    )
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    say(customer, conversation, "Tudo bem?")
    bodies = list(conversation.messages.values_list("body", flat=True))
    assert bodies == ["Oi", "Bem-vindo!", "Tudo bem?"]
    greeting = conversation.messages.get(seq=2)
    assert greeting.sender.business_id == business.pk and greeting.payload == {"auto": "greeting"}


def test_away_message_outside_hours_at_most_once_in_12_hours(business, owner, customer):
    import datetime

    from django.utils import timezone

    _hours_closed_now(owner, business)
    chat_settings.update_inbox_settings(
        actor=owner, business=business, away_enabled=True, away_text="Estamos fechados."
    )
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    say(customer, conversation, "Alguém?")
    assert list(conversation.messages.values_list("body", flat=True)) == [
        "Oi",
        "Estamos fechados.",
        "Alguém?",
    ]
    Conversation.objects.filter(pk=conversation.pk).update(
        away_sent_at=timezone.now() - datetime.timedelta(hours=13)
    )
    say(customer, conversation, "Olá de novo")
    assert conversation.messages.filter(body="Estamos fechados.").count() == 2


def test_no_away_message_without_hours_or_when_open(business, owner, customer):
    chat_settings.update_inbox_settings(
        actor=owner, business=business, away_enabled=True, away_text="Fechados."
    )
    conversation = start_chat(business, customer)
    say(customer, conversation, "Oi")
    assert not conversation.messages.filter(body="Fechados.").exists()


def test_inbox_settings_need_text_when_enabled_and_change_nothing(business, owner, agent):
    from chats.models import InboxSettings

    with pytest.raises(AppError) as exc:
        chat_settings.update_inbox_settings(
            actor=owner, business=business, greeting_enabled=True, greeting_text="  "
        )
    assert exc.value.field == "greeting_text"
    with pytest.raises(AppError):
        chat_settings.update_inbox_settings(actor=agent, business=business, away_enabled=False)
    assert not InboxSettings.objects.exists()


def test_product_set_up_to_30_own_active_products(business, owner, customer, other):
    from catalog.tests.factories import make_product

    conversation = start_chat(business, customer)
    mine = [make_product(owner, business) for _ in range(3)]
    theirs = make_product(other.owner, other.business)
    message, _created = messages.share_products(
        actor=owner,
        conversation=conversation,
        sections=[{"title": "Pães", "product_ids": [p.pk for p in mine]}],
    )
    assert message.kind == "product_set"
    assert message.payload["sections"] == [{"title": "Pães", "product_ids": [p.pk for p in mine]}]
    with pytest.raises(AppError):  # another business's product
        messages.share_products(
            actor=owner, conversation=conversation, sections=[{"product_ids": [theirs.pk]}]
        )
    with pytest.raises(AppError):  # customers cannot send lists
        messages.share_products(
            actor=customer, conversation=conversation, sections=[{"product_ids": [mine[0].pk]}]
        )
    many = [make_product(owner, business) for _ in range(28)]
    with pytest.raises(AppError) as exc:
        messages.share_products(
            actor=owner,
            conversation=conversation,
            sections=[{"product_ids": [p.pk for p in mine + many]}],
        )
    assert exc.value.code == "too_many"
    assert conversation.messages.count() == 1


def test_product_card_renders_live_price_and_stock(business, owner, customer):
    from catalog import services as catalog_services
    from catalog.tests.factories import make_product
    from chats import events

    product = make_product(owner, business, name="Broa", price=500)
    conversation = start_chat(business, customer)
    message, _ = messages.share_product(
        actor=customer, conversation=conversation, product_id=product.pk
    )
    catalog_services.update_product(actor=owner, product=product, price=750, stock=0)
    (html,) = events.render_messages([message], "en")
    assert "7.50" in html and "Out of stock" in html
    catalog_services.set_product_active(actor=owner, product=product, is_active=False)
    (html,) = events.render_messages([message], "en")
    assert "no longer available" in html


def test_a_pushed_message_is_rendered_in_every_site_language(business, owner, customer):
    from catalog.tests.factories import make_product
    from chats import events

    product = make_product(owner, business, name="Broa", price=123456, stock=0)
    conversation = start_chat(business, customer)
    message, _ = messages.share_product(
        actor=customer, conversation=conversation, product_id=product.pk
    )

    [html] = events.render_pushed([message])  # every site language

    # Each socket sends its user the HTML in their language (chats.consumers).
    assert set(html) == {"pt-br", "en", "fr", "es"}
    assert "R$\xa01.234,56" in html["pt-br"] and "Esgotado" in html["pt-br"]
    assert "R$1,234.56" in html["en"] and "Out of stock" in html["en"]
    assert "1\u202f234,56\xa0R$" in html["fr"] and "Rupture de stock" in html["fr"]
    assert "R$\xa01.234,56" in html["es"] and "Agotado" in html["es"]


def test_a_card_number_typed_in_a_chat_is_stored_masked(business, owner):
    customer = UserFactory(email="card@example.com")
    conversation = start_chat(business, customer)

    message, _created = messages.send_text(
        actor=customer, conversation=conversation, body="é 4242 4242 4242 4242, cvc 123"
    )

    message.refresh_from_db()
    assert message.body == "é •••• 4242, cvc 123"
    assert "4242 4242" not in message.body


@pytest.mark.parametrize("huge", ["99999999999999999999", "-99999999999999999999", "0"])
def test_ids_past_what_the_database_holds_are_refused_not_a_crash(business, customer, owner, huge):
    """SQLite raises OverflowError on an integer past 64 bits: the page-form fuzzer
    found a 500 on the inbox's assign action with a 20-digit id."""
    chat = start_chat(business, customer)

    with pytest.raises(AppError) as assigned:
        inbox.assign(actor=owner, conversation=chat, assignee_id=huge)
    with pytest.raises(AppError) as labelled:
        inbox.set_labels(actor=owner, conversation=chat, label_ids=[huge])
    with pytest.raises(AppError) as shared:
        messages.share_product(actor=owner, conversation=chat, product_id=huge)

    assert (assigned.value.field, labelled.value.field) == ("assignee", "labels")
    assert shared.value.code == "product_not_found"
    chat.refresh_from_db()
    assert chat.assignee_id is None
