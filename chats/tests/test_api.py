"""The chats API: conversations, messages and quick replies, scoped like the pages,
with every boundary answering 404 (403 for a customer trying a team operation)
and bad input a 4xx that changes nothing."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Membership
from accounts.tests.factories import UserFactory, join
from catalog.tests.factories import make_product
from chats.models import Contact, Conversation, Message, Participant, QuickReply
from chats.services import conversations as chat_conversations
from chats.services import inbox as chat_inbox
from chats.services import settings as chat_settings
from chats.tests.factories import say, start_chat

ROLE = Membership.Role


# --- Helpers and fixtures -------------------------------------------------------------


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


def bearer(user) -> APIClient:
    _token, raw = account_services.create_api_token(user=user, name="app")
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


def call(client, method: str, url: str, data=None):
    if method == "get":
        return client.get(url)
    if method == "delete":
        return client.delete(url)
    return getattr(client, method)(url, data, format="json")


def conv_url(conversation, rest: str = "") -> str:
    return f"/api/v1/conversations/{conversation.pk}/{rest}"


def inbox_url(business) -> str:
    return f"/api/v1/businesses/{business.slug}/conversations/"


def replies_url(business, reply=None) -> str:
    base = f"/api/v1/businesses/{business.slug}/quick-replies/"
    return base if reply is None else f"{base}{reply.pk}/"


def new_customer_says(business, body: str) -> Conversation:
    conversation = start_chat(business)
    say(conversation.contact.user, conversation, body)
    return conversation


def snapshot() -> dict:
    """Everything a chats write could change, for "nothing changed" assertions."""
    return {
        "conversations": sorted(
            Conversation.objects.values_list("pk", "status", "assignee_id", "last_seq")
        ),
        "messages": sorted(Message.objects.values_list("pk", "conversation_id", "seq", "body")),
        "sides": sorted(
            Participant.objects.values_list("pk", "last_read_seq", "last_delivered_seq", "unread")
        ),
        "labels": sorted(Contact.labels.through.objects.values_list("contact_id", "label_id")),
        "replies": sorted(QuickReply.objects.values_list("pk", "business_id", "shortcut", "text")),
    }


@pytest.fixture
def customer(db):
    return UserFactory(email="carla@example.com", display_name="Carla")


@pytest.fixture
def chat(business, customer):
    """Carla's conversation with the business: her question and the owner's answer."""
    conversation = start_chat(business, customer, ref="ig-bio", utm_source="instagram")
    say(customer, conversation, "Do you have sourdough?")
    return conversation


@pytest.fixture
def label(business, owner):
    return chat_settings.create_label(actor=owner, business=business, name="VIP", color="green")


# --- Starting and listing conversations -----------------------------------------------------


def test_a_customer_starts_a_conversation_once_and_resumes_it(business, customer):
    client = api(customer)

    first = client.post(
        "/api/v1/conversations/",
        {"business": business.slug, "ref": "qr-door", "utm_source": "flyer"},
        format="json",
    )
    again = client.post(
        "/api/v1/conversations/", {"business": business.slug, "ref": "other"}, format="json"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    body = first.json()
    assert again.json()["id"] == body["id"]
    assert body["kind"] == "business"
    assert body["business"] == {"id": business.pk, "slug": "padaria-central", "name": business.name}
    assert body["other"]["side"] == f"b{business.pk}"
    assert body["me"]["side"] == f"u{customer.pk}"
    # the team's view (status, labels, first touch) is not for the customer
    assert body["staff"] is None
    conversation = Conversation.objects.get()
    assert (conversation.ref, conversation.utm_source) == ("qr-door", "flyer")


def test_a_user_starts_a_direct_conversation_by_email(customer):
    friend = UserFactory(email="dani@example.com", display_name="Dani")

    response = api(customer).post(
        "/api/v1/conversations/", {"peer": "DANI@example.com"}, format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["business"], body["staff"]) == ("direct", None, None)
    assert body["other"] == {
        "side": f"u{friend.pk}",
        "name": "Dani",
        "business": None,
        "user_id": friend.pk,
    }


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({}, 400),
        ({"business": "padaria-central", "peer": "x@example.com"}, 400),
        ({"peer": "nobody@example.com"}, 400),
        ({"peer": "carla@example.com"}, 400),  # herself
        ({"business": "no-such-shop"}, 404),
        ({"business": "bad slug\x00"}, 400),
        ({"business": ["padaria-central"]}, 400),
        ({"business": "padaria-central", "utm_source": "x" * 101}, 400),
    ],
)
def test_starting_a_conversation_with_bad_input_is_refused(business, customer, data, status):
    response = api(customer).post("/api/v1/conversations/", data, format="json")

    assert response.status_code == status
    assert not Conversation.objects.exists()


def test_staff_cannot_start_a_customer_chat_with_their_own_business(business, agent):
    response = api(agent).post("/api/v1/conversations/", {"business": business.slug}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "own_business"
    assert not Conversation.objects.exists()


def test_my_conversations_lists_the_users_own_with_unread_and_last_message(
    business, customer, owner, chat
):
    # given an answer from the business and a direct chat with a friend
    say(owner, chat, "Yes, fresh today!")
    friend = UserFactory(display_name="Dani")
    direct, _created = chat_conversations.start_direct_conversation(user=friend, peer=customer)
    say(friend, direct, "Lunch?")
    # and a conversation of someone else
    new_customer_says(business, "Not yours")

    response = api(customer).get("/api/v1/conversations/")

    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [direct.pk, chat.pk]
    lunch, shop = rows
    assert (lunch["kind"], lunch["other"]["name"], lunch["unread"]) == ("direct", "Dani", 1)
    assert lunch["last_message"]["side"] == f"u{friend.pk}"
    assert shop["business"]["slug"] == "padaria-central"
    assert shop["other"]["side"] == f"b{business.pk}"
    assert shop["unread"] == 1
    assert shop["last_message"]["preview"] == "Yes, fresh today!"
    assert shop["last_message"]["side"] == f"b{business.pk}"


def test_the_team_sees_status_assignee_labels_and_first_touch(business, owner, customer, chat):
    chat_inbox.set_labels(
        actor=owner,
        conversation=chat,
        label_ids=[chat_settings.create_label(actor=owner, business=business, name="VIP").pk],
    )

    body = api(owner).get(conv_url(chat)).json()

    assert body["me"]["side"] == f"b{business.pk}"
    assert body["other"]["user_id"] == customer.pk
    staff = body["staff"]
    assert staff["status"] == "open"
    assert staff["assignee"] is None
    assert staff["customer"] == {"id": customer.pk, "name": "Carla"}
    assert [lab["name"] for lab in staff["labels"]] == ["VIP"]
    assert staff["blocked"] is False
    assert staff["first_touch"] == {"ref": "ig-bio", "utm_source": "instagram"}


# --- Who may see and do what ------------------------------------------------------------------

CONVERSATION_ENDPOINTS = [
    ("get", "", None),
    ("get", "messages/", None),
    ("post", "messages/", {"body": "let me in", "client_id": "x-1"}),
    ("post", "read/", {}),
    ("post", "status/", {"status": "resolved"}),
    ("post", "assign/", {"assignee": "{me}"}),
    ("post", "labels/", {"label_ids": ["{label}"]}),
]
TEAM_ENDPOINTS = CONVERSATION_ENDPOINTS[4:]


def _request(client, user, conversation, label, endpoint):
    method, rest, data = endpoint
    if data is not None:
        data = json.loads(
            json.dumps(data)
            .replace('"{me}"', str(user.pk) if user else "1")
            .replace('"{label}"', str(label.pk))
        )
    return call(client, method, conv_url(conversation, rest), data)


@pytest.mark.parametrize("endpoint", CONVERSATION_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("who", ["outsider", "other business's owner", "other business's agent"])
def test_outsiders_get_not_found_and_change_nothing(outsider, other, chat, label, endpoint, who):
    user = {
        "outsider": outsider,
        "other business's owner": other.owner,
        "other business's agent": other.agent,
    }[who]
    before = snapshot()

    response = _request(api(user), user, chat, label, endpoint)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", CONVERSATION_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_anonymous_requests_ask_for_credentials(chat, label, endpoint):
    before = snapshot()

    response = _request(api(), None, chat, label, endpoint)

    assert response.status_code == 401
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", CONVERSATION_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_an_agent_cannot_reach_a_colleagues_conversation(
    business, admin, agent, chat, label, endpoint
):
    # given the conversation assigned to another agent
    colleague = join(business=business, role=ROLE.AGENT).user
    chat_inbox.assign(actor=admin, conversation=chat, assignee_id=colleague.pk)
    before = snapshot()

    response = _request(api(agent), agent, chat, label, endpoint)

    assert response.status_code == 404
    assert snapshot() == before
    assert api(agent).get(inbox_url(business)).json()["results"] == []
    assert [r["id"] for r in api(colleague).get(inbox_url(business)).json()["results"]] == [chat.pk]


@pytest.mark.parametrize("endpoint", TEAM_ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_customer_cannot_use_team_operations(customer, chat, label, endpoint):
    before = snapshot()

    response = _request(api(customer), customer, chat, label, endpoint)

    assert response.status_code == 403
    assert snapshot() == before


def test_a_direct_peer_cannot_use_team_operations_either(customer):
    friend = UserFactory()
    direct, _created = chat_conversations.start_direct_conversation(user=customer, peer=friend)

    response = api(friend).post(conv_url(direct, "status/"), {"status": "resolved"}, format="json")

    assert response.status_code == 403


@pytest.mark.parametrize("conversation_id", ["0", "999999", "99999999999999999999999"])
def test_missing_conversations_are_not_found(customer, conversation_id):
    response = api(customer).get(f"/api/v1/conversations/{conversation_id}/")

    assert response.status_code == 404


# --- The inbox -------------------------------------------------------------------------------


def test_the_inbox_lists_the_business_conversations_with_unread(business, owner, chat):
    other_chat = start_chat(business)
    say(other_chat.contact.user, other_chat, "first")
    say(other_chat.contact.user, other_chat, "second")
    say(owner, chat, "Yes!")

    response = api(owner).get(inbox_url(business))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [chat.pk, other_chat.pk]
    assert [r["unread"] for r in rows] == [0, 2]
    assert rows[0]["customer"]["name"] == "Carla"
    assert rows[0]["last_message"]["side"] == f"b{business.pk}"
    assert rows[1]["last_message"]["side"] == f"u{other_chat.contact.user_id}"
    assert response.json()["next"] is None


def test_the_inbox_filters_by_status_scope_label_and_search(business, owner, agent, chat, label):
    other_chat = start_chat(business, UserFactory(display_name="Bruno"))
    say(other_chat.contact.user, other_chat, "Cake for Saturday?")
    chat_inbox.set_status(actor=owner, conversation=other_chat, status="resolved")
    chat_inbox.assign(actor=agent, conversation=chat, assignee_id=agent.pk)
    chat_inbox.set_labels(actor=owner, conversation=chat, label_ids=[label.pk])
    client = api(agent)

    def ids(**params):
        response = client.get(inbox_url(business), params)
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids(status="resolved") == [other_chat.pk]
    assert ids(scope="mine") == [chat.pk]
    assert ids(scope="unassigned") == [other_chat.pk]
    assert ids(label=label.pk) == [chat.pk]
    assert ids(q="sourdough") == [chat.pk]
    assert ids(q="bruno") == [other_chat.pk]


@pytest.mark.parametrize(
    "params",
    [{"status": "closed"}, {"scope": "everyone"}, {"label": "vip"}, {"limit": 0}, {"q": "a\x00"}],
)
def test_the_inbox_refuses_malformed_filters(business, owner, chat, params):
    response = api(owner).get(inbox_url(business), params)

    assert response.status_code == 400


@pytest.mark.parametrize("who", ["outsider", "customer", "other business's owner"])
def test_the_inbox_is_not_found_for_non_members(business, outsider, customer, other, chat, who):
    user = {"outsider": outsider, "customer": customer, "other business's owner": other.owner}[who]

    assert api(user).get(inbox_url(business)).status_code == 404


def test_the_inbox_pages_with_next(business):
    for n in range(5):
        new_customer_says(business, f"hello {n}")
    owner = business.memberships.get(role=ROLE.OWNER).user
    client = api(owner)

    first = client.get(inbox_url(business), {"limit": 3}).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 3
    assert len(second["results"]) == 2 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 5


def _inbox_queries(client, business) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(inbox_url(business))
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def test_the_inbox_costs_the_same_queries_for_5_or_50_conversations(
    business, owner, label, settings
):
    def add_conversations(count):
        for _n in range(count):
            conversation = start_chat(business)
            say(conversation.contact.user, conversation, "hi")
            say(owner, conversation, "hello")
            chat_inbox.set_labels(actor=owner, conversation=conversation, label_ids=[label.pk])

    settings.CHAT_MESSAGES_PER_MINUTE = 1000
    client = api(owner)
    add_conversations(5)
    few, rows_few = _inbox_queries(client, business)
    add_conversations(45)
    many, rows_many = _inbox_queries(client, business)

    assert (rows_few, rows_many) == (5, 50)
    assert few == many


# --- Messages --------------------------------------------------------------------------------


def test_sending_is_idempotent_per_client_id(customer, chat):
    client = api(customer)
    data = {"body": "Two loaves, please", "client_id": "c-42"}

    first = client.post(conv_url(chat, "messages/"), data, format="json")
    again = client.post(conv_url(chat, "messages/"), data, format="json")
    other = client.post(conv_url(chat, "messages/"), data | {"client_id": "c-43"}, format="json")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json() == again.json()
    body = first.json()
    assert (body["seq"], body["kind"], body["body"], body["client_id"]) == (
        2,
        "text",
        "Two loaves, please",
        "c-42",
    )
    assert (body["side"], body["mine"]) == (f"u{customer.pk}", True)
    assert Message.objects.filter(conversation=chat).count() == 3


def test_staff_send_as_the_business(business, agent, customer, chat):
    response = api(agent).post(conv_url(chat, "messages/"), {"body": "Yes!"}, format="json")

    assert response.status_code == 201
    assert (response.json()["side"], response.json()["mine"]) == (f"b{business.pk}", True)
    # and the customer sees it as theirs, not hers
    [_question, answer] = api(customer).get(conv_url(chat, "messages/")).json()["results"]
    assert (answer["side"], answer["mine"]) == (f"b{business.pk}", False)


def test_sharing_a_product(business, owner, customer, chat):
    product = make_product(owner, business, name="Sourdough", price=1890)

    response = api(customer).post(
        conv_url(chat, "messages/"),
        {"kind": "product", "product_id": product.pk, "body": "This one?"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "product"
    assert body["payload"]["product_id"] == product.pk
    assert body["body"] == "This one?"


@pytest.mark.parametrize(
    "data",
    [
        {"body": ""},
        {"body": "   "},
        {"body": {"text": "hi"}},
        {"body": ["hi"]},
        {"body": "x" * 4097},
        {"body": "x" * 200_000},
        {"body": "hi", "client_id": "not ok!"},
        {"body": "hi", "client_id": "x" * 65},
        {"body": "hi", "kind": "payment_request"},
        {"body": "hi", "kind": "system"},
        {"kind": "product"},
        {"kind": "product", "product_id": "bread"},
        {"kind": "product", "product_id": 2**70},
        {"kind": "product", "product_id": "{other_product}"},
    ],
    ids=lambda d: json.dumps(d)[:40],
)
def test_bad_messages_are_refused_and_change_nothing(customer, other, chat, data):
    other_product = make_product(other.owner, other.business, name="Cake", price=5000)
    if data.get("product_id") == "{other_product}":
        data = data | {"product_id": other_product.pk}
    before = snapshot()

    response = api(customer).post(conv_url(chat, "messages/"), data, format="json")

    assert response.status_code == 400
    assert response.json()
    assert snapshot() == before


def test_a_blocked_customer_gets_403(owner, customer, chat):
    chat_inbox.block_contact(actor=owner, conversation=chat, blocked=True)
    before = snapshot()

    response = api(customer).post(conv_url(chat, "messages/"), {"body": "hello?"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "blocked"
    assert snapshot() == before


def test_too_many_messages_get_429(customer, chat, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3  # the fixture's question was the first

    codes = [
        api(customer)
        .post(conv_url(chat, "messages/"), {"body": f"m{n}"}, format="json")
        .status_code
        for n in range(3)
    ]

    assert codes == [201, 201, 429]


@pytest.fixture
def long_chat(customer, chat, settings):
    """The conversation with 61 messages."""
    settings.CHAT_MESSAGES_PER_MINUTE = 1000
    for n in range(2, 62):
        say(customer, chat, f"message {n}")
    return chat


def test_scrolling_back_pages_every_message_once(customer, long_chat):
    client = api(customer)

    page = client.get(conv_url(long_chat, "messages/"), {"limit": 20}).json()
    seqs = [m["seq"] for m in page["results"]]
    assert seqs == list(range(42, 62))
    assert page["next"] is None
    while page["previous"]:
        page = client.get(page["previous"]).json()
        seqs = [m["seq"] for m in page["results"]] + seqs

    assert seqs == list(range(1, 62))


def test_catching_up_pages_every_message_once(customer, owner, long_chat):
    client = api(owner)

    page = client.get(conv_url(long_chat, "messages/"), {"after": 0, "limit": 25}).json()
    seqs = [m["seq"] for m in page["results"]]
    assert page["previous"] is None
    while page["next"]:
        page = client.get(page["next"]).json()
        seqs += [m["seq"] for m in page["results"]]

    assert seqs == list(range(1, 62))
    # and a client that is up to date polls with after=<last seq> and gets nothing
    caught_up = client.get(conv_url(long_chat, "messages/"), {"after": 61}).json()
    assert (caught_up["results"], caught_up["next"]) == ([], None)
    say(long_chat.contact.user, long_chat, "one more")
    newest = client.get(conv_url(long_chat, "messages/"), {"after": 61}).json()
    assert [m["seq"] for m in newest["results"]] == [62]


def test_a_page_has_at_most_200_messages(customer, chat):
    too_many = api(customer).get(conv_url(chat, "messages/"), {"limit": 201})
    most = api(customer).get(conv_url(chat, "messages/"), {"limit": 200})

    assert (too_many.status_code, most.status_code) == (400, 200)


@pytest.mark.parametrize(
    "params",
    [{"after": "x"}, {"before": -1}, {"before": 0}, {"after": 1, "before": 5}, {"after": 2**40}],
)
def test_malformed_message_cursors_are_refused(customer, chat, params):
    response = api(customer).get(conv_url(chat, "messages/"), params)

    assert response.status_code == 400


def test_mark_read(business, owner, customer, chat):
    say(customer, chat, "hello?")
    say(customer, chat, "anyone?")
    client = api(owner)

    partly = client.post(conv_url(chat, "read/"), {"seq": 2}, format="json")
    back = client.post(conv_url(chat, "read/"), {"seq": 1}, format="json")
    beyond = client.post(conv_url(chat, "read/"), {"seq": 999}, format="json")

    assert partly.status_code == 200
    assert partly.json() == {
        "side": f"b{business.pk}",
        "last_read_seq": 2,
        "last_delivered_seq": 2,
        "unread": 1,
    }
    assert back.json()["last_read_seq"] == 2
    assert (beyond.json()["last_read_seq"], beyond.json()["unread"]) == (3, 0)
    # the customer sees the business's read position
    assert api(customer).get(conv_url(chat)).json()["other_read_seq"] == 3


def test_mark_read_without_a_seq_reads_everything(owner, customer, chat):
    say(customer, chat, "hello?")

    response = api(owner).post(conv_url(chat, "read/"), {}, format="json")

    assert (response.json()["last_read_seq"], response.json()["unread"]) == (2, 0)


@pytest.mark.parametrize("seq", ["two", -1, 2**40, [1]])
def test_mark_read_refuses_a_malformed_seq(owner, chat, seq):
    before = snapshot()

    response = api(owner).post(conv_url(chat, "read/"), {"seq": seq}, format="json")

    assert response.status_code == 400
    assert snapshot() == before


# --- Status, assignment, labels -------------------------------------------------------------


def test_the_team_sets_status_assignee_and_labels(admin, agent, chat, label):
    client = api(admin)

    resolved = client.post(conv_url(chat, "status/"), {"status": "resolved"}, format="json")
    assigned = client.post(conv_url(chat, "assign/"), {"assignee": agent.pk}, format="json")
    labelled = client.post(conv_url(chat, "labels/"), {"label_ids": [label.pk]}, format="json")
    cleared = client.post(conv_url(chat, "labels/"), {"label_ids": []}, format="json")

    assert resolved.json()["staff"]["status"] == "resolved"
    assert assigned.json()["staff"]["assignee"]["id"] == agent.pk
    assert [lab["id"] for lab in labelled.json()["staff"]["labels"]] == [label.pk]
    assert cleared.json()["staff"]["labels"] == []
    chat.refresh_from_db()
    assert (chat.status, chat.assignee_id) == ("resolved", agent.pk)


def test_an_agent_takes_and_leaves_but_cannot_assign_others(admin, agent, chat):
    client = api(agent)

    taken = client.post(conv_url(chat, "assign/"), {"assignee": agent.pk}, format="json")
    to_admin = client.post(conv_url(chat, "assign/"), {"assignee": admin.pk}, format="json")
    left = client.post(conv_url(chat, "assign/"), {"assignee": None}, format="json")

    assert taken.status_code == 200
    assert to_admin.status_code == 403
    assert left.status_code == 200 and left.json()["staff"]["assignee"] is None


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("status/", {"status": "closed"}),
        ("status/", {}),
        ("assign/", {"assignee": "{outsider}"}),
        ("assign/", {"assignee": "{other_owner}"}),
        ("assign/", {"assignee": "me"}),
        ("assign/", {}),
        ("labels/", {"label_ids": ["{other_label}"]}),
        ("labels/", {"label_ids": ["{label}", "{other_label}"]}),
        ("labels/", {"label_ids": "{label}"}),
        ("labels/", {"label_ids": [2**70]}),
        ("labels/", {"label_ids": list(range(1, 102))}),
    ],
)
def test_team_operations_refuse_bad_input_and_change_nothing(
    owner, outsider, other, chat, label, path, data
):
    other_label = chat_settings.create_label(actor=other.owner, business=other.business, name="VIP")
    ids = {
        "outsider": outsider.pk,
        "other_owner": other.owner.pk,
        "other_label": other_label.pk,
        "label": label.pk,
    }
    text = json.dumps(data)
    for name, pk in ids.items():
        text = text.replace(f'"{{{name}}}"', str(pk))
    before = snapshot()

    response = api(owner).post(conv_url(chat, path), json.loads(text), format="json")

    assert response.status_code == 400
    assert snapshot() == before


# --- Quick replies ---------------------------------------------------------------------------


@pytest.fixture
def reply(business, owner):
    return chat_settings.save_quick_reply(
        actor=owner, business=business, shortcut="hours", text="We open at 7."
    )


def test_quick_replies_crud_by_an_admin(business, admin, reply):
    client = api(admin)

    created = client.post(
        replies_url(business), {"shortcut": "/Pix", "text": "Our Pix key is…"}, format="json"
    )
    changed = client.patch(replies_url(business, reply), {"text": "We open at 6."}, format="json")
    listed = client.get(replies_url(business))
    deleted = client.delete(replies_url(business, reply))

    assert created.status_code == 201
    assert created.json()["shortcut"] == "pix"
    assert changed.json() == {"id": reply.pk, "shortcut": "hours", "text": "We open at 6."}
    assert [r["shortcut"] for r in listed.json()] == ["hours", "pix"]
    assert deleted.status_code == 204
    assert list(QuickReply.objects.values_list("shortcut", flat=True)) == ["pix"]


def test_an_agent_lists_quick_replies_but_cannot_change_them(business, agent, reply):
    client = api(agent)
    before = snapshot()

    listed = client.get(replies_url(business))
    created = client.post(replies_url(business), {"shortcut": "x", "text": "y"}, format="json")
    changed = client.patch(replies_url(business, reply), {"text": "z"}, format="json")
    deleted = client.delete(replies_url(business, reply))

    assert listed.status_code == 200 and len(listed.json()) == 1
    assert (created.status_code, changed.status_code, deleted.status_code) == (404, 404, 404)
    assert snapshot() == before


@pytest.mark.parametrize("who", ["outsider", "other business's owner"])
def test_quick_replies_are_not_found_for_non_members(business, outsider, other, reply, who):
    user = outsider if who == "outsider" else other.owner
    client = api(user)
    before = snapshot()

    responses = [
        client.get(replies_url(business)),
        client.post(replies_url(business), {"shortcut": "x", "text": "y"}, format="json"),
        client.patch(replies_url(business, reply), {"text": "z"}, format="json"),
        client.delete(replies_url(business, reply)),
        # and another business's reply under one's own slug
        client.delete(replies_url(other.business, reply)),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert snapshot() == before


@pytest.mark.parametrize(
    "data",
    [
        {"shortcut": "hours", "text": "Duplicate"},
        {"shortcut": "two words", "text": "x"},
        {"shortcut": "x" * 40, "text": "x"},
        {"shortcut": "ok", "text": ""},
        {"shortcut": "ok", "text": "x" * 5000},
        {"shortcut": "ok"},
        {"shortcut": ["ok"], "text": "x"},
    ],
)
def test_bad_quick_replies_are_refused(business, owner, reply, data):
    before = snapshot()

    response = api(owner).post(replies_url(business), data, format="json")

    assert response.status_code == 400
    assert snapshot() == before


# --- Tokens and the schema ----------------------------------------------------------------


def test_a_bearer_token_reads_and_sends(customer, chat):
    client = bearer(customer)

    listed = client.get("/api/v1/conversations/")
    sent = client.post(conv_url(chat, "messages/"), {"body": "via app"}, format="json")
    refused = APIClient(HTTP_AUTHORIZATION="Bearer cv_wrong").get("/api/v1/conversations/")

    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [chat.pk]
    assert sent.status_code == 201
    assert refused.status_code == 401


def test_the_schema_describes_the_chats_api(db):
    response = api().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path, methods in {
        "/api/v1/conversations/": {"get", "post"},
        "/api/v1/conversations/{conversation_id}/": {"get"},
        "/api/v1/conversations/{conversation_id}/status/": {"post"},
        "/api/v1/conversations/{conversation_id}/assign/": {"post"},
        "/api/v1/conversations/{conversation_id}/labels/": {"post"},
        "/api/v1/conversations/{conversation_id}/messages/": {"get", "post"},
        "/api/v1/conversations/{conversation_id}/read/": {"post"},
        "/api/v1/businesses/{slug}/conversations/": {"get"},
        "/api/v1/businesses/{slug}/quick-replies/": {"get", "post"},
        "/api/v1/businesses/{slug}/quick-replies/{reply_id}/": {"patch", "delete"},
    }.items():
        assert methods <= set(paths[path]), path
    listing = paths["/api/v1/conversations/{conversation_id}/messages/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"after", "before", "limit"}
