"""A few months of history for the demo shops, so every Insights report has something
to show (issue #19): customers who came from Instagram, a WhatsApp status, Google or
directly, on many days and at many hours; several team members answering, some within
minutes, some hours later, some the next day; labels; payment requests, most paid,
some not; a few refunds (partial and full); deliveries with check-ins and 1–5
ratings; conversations resolved; and offer broadcasts with deliveries, reads, replies
and an opt-out.

Built through the services, as the team and the customers would have done it, in the
order it happened. The services date what they write "now", so every step runs under
:class:`Clock`, which notes the real moment each step started and the moment in the
history it stands for; :meth:`Clock.backdate` then moves every timestamp written
during the load to its step's moment, keeping the offsets the services chose (an
expiry 24 h after the request stays 24 h after it). The ledger and the payments'
audit events are append-only (database triggers), so they keep the load's date: the
Balance page shows the history's money as posted today.

Deterministic (a fixed seed) and small enough to load in a few seconds on SQLite.
"""

import bisect
import datetime
import heapq
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from accounts.models import Business, Membership, OpeningHours, User
from catalog.models import Product
from chats.models import ConsentSource, Contact, Conversation, Label, Message, ScheduledMessage
from chats.services import consent, conversations, inbox, messages, outbox, receipts
from chats.services import settings as chat_settings
from insights.models import Campaign
from insights.services import rollups
from marketing import services as marketing
from marketing.models import Broadcast
from payments.gateway.base import CardDetails
from payments.models import Order
from payments.services import cards, orders, paying, pins, refunds, shipping

SEED = 19
DAYS = 120
PIN = "730519"
# Append-only (database triggers refuse an UPDATE): the ledger and the audit trail.
# Append-only tables (PostgreSQL triggers refuse an UPDATE): they keep the load's dates.
NOT_BACKDATED = {
    "payments.ledgertransaction",
    "payments.ledgerentry",
    "payments.auditevent",
    "chats.consentrecord",
}
BACKDATED_APPS = {"accounts", "chats", "payments", "marketing", "insights"}

FIRST_NAMES = [
    "Ana", "Beatriz", "Bruna", "Caio", "Camila", "Daniel", "Eduarda", "Felipe", "Fernanda",
    "Gabriel", "Giovanna", "Gustavo", "Helena", "Igor", "Isabela", "João", "Júlia", "Larissa",
    "Leonardo", "Letícia", "Lucas", "Luiza", "Marcos", "Mariana", "Mateus", "Natália", "Otávio",
    "Paula", "Pedro", "Rafaela", "Renato", "Sofia", "Thiago", "Valentina", "Vinícius", "Yasmin",
]  # fmt: skip
LAST_NAMES = [
    "Almeida", "Barbosa", "Cardoso", "Carvalho", "Costa", "Dias", "Ferreira", "Gomes", "Lima",
    "Martins", "Melo", "Nascimento", "Oliveira", "Pereira", "Ribeiro", "Santos", "Silva",
    "Teixeira",
]  # fmt: skip

# Where customers come from: the conversation's first touch (None: direct).
SOURCES = {
    "instagram": {"ref": "instagram-bio", "utm_source": "instagram", "utm_medium": "social"},
    "whatsapp": {"utm_source": "whatsapp", "utm_medium": "status", "utm_campaign": "status"},
    "google": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "encomendas-de-bolo"},
    "direct": None,
}

SHOPS = {
    "padaria-aurora": {
        "customers": 45,
        "staff": ["ana@padaria-aurora.example", "bruno@padaria-aurora.example"],
        "new_agent": ("camila@padaria-aurora.example", "Camila Prado"),
        "sources": [("instagram", 35), ("whatsapp", 20), ("google", 25), ("direct", 20)],
        "products": ["PAO-LEVAIN", "BAGUETE", "BOLO-CENOURA", "SONHO"],
        "asks": [
            "Oi! Vocês têm pão de fermentação natural hoje?",
            "Boa tarde, fazem bolo para 20 pessoas?",
            "Olá, qual o horário de vocês no domingo?",
            "Oi, entregam na Vila Madalena?",
            "Queria encomendar um bolo de cenoura para sábado.",
            "Tem sonho de creme saindo agora?",
        ],
        "answers": [
            "Oi! Temos sim, acabou de sair do forno.",
            "Fazemos! Precisamos de 48 h de antecedência.",
            "Olá! Entregamos sim, a taxa é R$ 8,00.",
            "Temos sim. Quer que eu separe?",
        ],
        "replies": ["Perfeito, obrigada!", "Pode separar, por favor.", "Ótimo, vou querer."],
        "labels": [("Atacado", "blue")],
        "shipping": 800,
    },
    "mare-moda": {
        "customers": 18,
        "staff": ["carla@mare-moda.example"],
        "new_agent": ("rafael@mare-moda.example", "Rafael Cunha"),
        "sources": [("instagram", 55), ("whatsapp", 15), ("google", 10), ("direct", 20)],
        "products": ["MM-VESTIDO-FLOR"],
        "free_lines": [("Kimono de viscose", 15900), ("Short de linho", 13900)],
        "asks": [
            "Oi! O vestido floral tem no P?",
            "Olá, vocês enviam para Salvador?",
            "Qual o tecido da saída de praia?",
            "Tem o kimono na cor areia?",
        ],
        "answers": [
            "Oi! Tem sim, no P e no M.",
            "Enviamos para todo o Brasil, chega em 5 dias úteis.",
            "É linho puro, bem fresquinho.",
        ],
        "replies": ["Amei! Quero um.", "Obrigada!", "Vou pensar e te aviso."],
        "labels": [("VIP", "purple")],
        "shipping": 1500,
    },
}


class Clock:
    """Which moment of the history each step of the load stands for.

    ``at(when)`` starts a step; whatever the services write until the next one is
    dated by the real clock, and :meth:`backdate` moves it by ``when − real start``."""

    def __init__(self) -> None:
        self.real: list[datetime.datetime] = []
        self.wanted: list[datetime.datetime] = []

    def at(self, when: datetime.datetime) -> None:
        self.real.append(timezone.now())
        self.wanted.append(when)

    def _delta(self, moment: datetime.datetime) -> datetime.timedelta | None:
        i = bisect.bisect_right(self.real, moment) - 1
        return self.wanted[i] - self.real[i] if i >= 0 else None

    def backdate(self) -> int:
        """Move every timestamp the steps wrote; returns how many rows changed. A
        value written "now" moves with the step that wrote it; a value set ahead of
        "now" (an expiry, a due time) moves with the step that created its row."""
        if not self.real:
            return 0
        start, end = self.real[0], timezone.now()
        changed = 0
        for model in apps.get_models():
            if (
                model._meta.app_label not in BACKDATED_APPS
                or model._meta.label_lower in NOT_BACKDATED
                or model._meta.proxy
            ):
                continue
            names = [
                f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)
            ]
            if not names:
                continue
            touched = Q()
            for name in names:
                touched |= Q(**{f"{name}__gte": start})
            rows = list(model.objects.filter(touched).values_list("pk", *names))
            created_at = names.index("created_at") if "created_at" in names else None
            updates = []
            for pk, *values in rows:
                created = values[created_at] if created_at is not None else None
                row_delta = self._delta(created) if created and start <= created <= end else None
                moved = []
                for value in values:
                    delta = None
                    if value is not None:
                        delta = self._delta(value) if start <= value <= end else row_delta
                    moved.append(value + delta if delta is not None else value)
                if moved != values:
                    updates.append((*moved, pk))
            if updates:
                # One plain UPDATE a row (executemany): each row moves by its own step.
                connection = connections[router.db_for_write(model)]
                table = connection.ops.quote_name(model._meta.db_table)
                columns = ", ".join(
                    f"{connection.ops.quote_name(model._meta.get_field(n).column)} = %s"
                    for n in names
                )
                pk_column = connection.ops.quote_name(model._meta.pk.column)
                params = [
                    [
                        *(connection.ops.adapt_datetimefield_value(v) for v in row[:-1]),
                        row[-1],
                    ]
                    for row in updates
                ]
                with connection.cursor() as cursor:
                    cursor.executemany(
                        f"UPDATE {table} SET {columns} WHERE {pk_column} = %s",  # noqa: S608
                        params,
                    )
                changed += len(updates)
        return changed


@dataclass(order=True)
class Event:
    when: datetime.datetime
    order: int
    run: Callable[[], None] = field(compare=False)


class History:
    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)
        self.events: list[Event] = []
        self.clock = Clock()
        self.count = 0

    def add(self, when: datetime.datetime, run: Callable[[], None]) -> None:
        # Nothing after "now": a chat started yesterday has not been rated yet.
        if when < self.now - datetime.timedelta(minutes=5):
            self.count += 1
            heapq.heappush(self.events, Event(when, self.count, run))

    def play(self) -> None:
        """Run the events in the order they happened (an event may add later ones)."""
        while self.events:
            event = heapq.heappop(self.events)
            self.clock.at(event.when)
            event.run()


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _weighted(rng: random.Random, pairs):
    return rng.choices([k for k, _w in pairs], weights=[w for _k, w in pairs])[0]


def _start_moment(rng: random.Random, business: Business, now: datetime.datetime):
    """A moment in the last DAYS days, more of them lately, mostly in the day."""
    days_ago = int(DAYS * (1 - rng.random() ** 0.8))
    hour = _weighted(rng, [(h, w) for h, w in enumerate(
        [1, 1, 0, 0, 0, 1, 2, 4, 6, 8, 9, 8, 7, 6, 6, 7, 8, 9, 10, 9, 7, 5, 3, 2]
    )])  # fmt: skip
    day = (now.astimezone(business.tz) - datetime.timedelta(days=days_ago)).date()
    local = datetime.datetime.combine(day, datetime.time(hour, rng.randrange(60)), business.tz)
    return local.astimezone(datetime.UTC)


def _next_open(business: Business, hours, moment: datetime.datetime) -> datetime.datetime:
    probe = moment
    for _ in range(7 * 24 * 4):
        if business.is_open_at(probe, hours):
            return probe
        probe += datetime.timedelta(minutes=15)
    return moment


def _response_delay(rng, business, hours, moment) -> datetime.timedelta:
    """Within minutes, within hours, or the next day; outside opening hours the team
    answers when it opens."""
    kind = _weighted(rng, [("minutes", 45), ("hours", 30), ("next_day", 15)])
    if kind == "minutes":
        delay = datetime.timedelta(minutes=rng.randint(1, 15))
    elif kind == "hours":
        delay = datetime.timedelta(minutes=rng.randint(30, 300))
    else:
        delay = datetime.timedelta(hours=rng.randint(16, 30))
    answer = _next_open(business, hours, moment + delay)
    return answer - moment


class Shop:
    """One business's history: its customers' conversations, orders and offers."""

    def __init__(self, history: History, business: Business, spec: dict) -> None:
        self.h, self.business, self.spec = history, business, spec
        self.rng = history.rng
        self.hours = list(OpeningHours.objects.filter(business=business))
        self.staff = [User.objects.get(email=e) for e in spec["staff"]]
        self.owner = self.staff[0]
        self.products = {
            p.retailer_id: p
            for p in Product.objects.filter(business=business, retailer_id__in=spec["products"])
        }
        self.labels = list(Label.objects.filter(business=business))
        self.contacts: list[tuple[User, Conversation, datetime.datetime]] = []

    # --- set-up, at the start of the history ----------------------------------------

    def set_up(self, start: datetime.datetime, card_year: int) -> None:
        email, name = self.spec["new_agent"]
        agent = User.objects.create_user(email=email, display_name=name)
        Membership.objects.create(user=agent, business=self.business, role=Membership.Role.AGENT)
        self.staff.append(agent)
        for label_name, colour in self.spec["labels"]:
            self.labels.append(
                chat_settings.create_label(
                    actor=self.owner, business=self.business, name=label_name, color=colour
                )
            )
        self.customers = []
        for n in range(self.spec["customers"]):
            user = User.objects.create_user(
                email=f"cliente{n + 1:03}@{self.business.slug}.example",
                display_name=_name(self.rng),
            )
            self.customers.append(user)
        self.card_year = card_year

    def _wallet(self, user: User):
        card = cards.add_card(
            user=user,
            details=CardDetails(
                number="4242424242424242", exp_month=12, exp_year=self.card_year, cvc="123",
                holder_name=user.display_name,
            ),
        )  # fmt: skip
        pins.set_pin(user=user, pin=PIN, pin_again=PIN)
        return card

    # --- one customer's story ---------------------------------------------------------

    def plan(self, customer: User) -> None:
        rng, add = self.rng, self.h.add
        start = _start_moment(rng, self.business, self.h.now)
        source = _weighted(rng, self.spec["sources"])
        agent = rng.choice(self.staff)
        state: dict = {}

        def open_chat():
            touch = SOURCES[source]
            if source == "instagram" and start >= self.h.now - datetime.timedelta(days=6):
                touch = {**touch, "ref": "sourdough-week", "utm_campaign": "sourdough-week"}
            chat, _new = conversations.start_conversation(
                customer=customer, business=self.business, first_touch=touch
            )
            state["chat"] = chat
            product = self.products.get(rng.choice(self.spec["products"]))
            ask = rng.choice(self.spec["asks"])
            if product is not None and rng.random() < 0.4:
                messages.share_product(
                    actor=customer, conversation=chat, product_id=product.pk, body=ask
                )
            else:
                messages.send_text(actor=customer, conversation=chat, body=ask)
            if rng.random() < 0.45:
                contact = Contact.objects.get(pk=chat.contact_id)
                consent.grant_offers_consent(
                    customer=customer, contact=contact, source=ConsentSource.CHAT
                )
            self.contacts.append((customer, chat, start))

        add(start, open_chat)
        if rng.random() < 0.08:  # never answered
            return
        moment = start + _response_delay(rng, self.business, self.hours, start)

        def answer():
            chat = state["chat"]
            if rng.random() < 0.3:
                inbox.assign(actor=agent, conversation=chat, assignee_id=agent.pk)
            messages.send_text(
                actor=agent, conversation=chat, body=rng.choice(self.spec["answers"])
            )

        add(moment, answer)
        for _ in range(rng.randint(0, 2)):
            moment += datetime.timedelta(minutes=rng.randint(1, 40))
            add(moment, self._say(state, customer, rng.choice(self.spec["replies"])))
            moment += datetime.timedelta(minutes=rng.randint(1, 20))
            add(moment, self._say(state, agent, rng.choice(self.spec["answers"])))
        if self.labels and rng.random() < 0.4:
            label = rng.choice(self.labels)
            add(moment + datetime.timedelta(minutes=1), lambda: inbox.set_labels(
                actor=agent, conversation=state["chat"], label_ids=[label.pk]
            ))  # fmt: skip
        if rng.random() < 0.55:
            moment = self._plan_order(state, customer, agent, moment)
        if rng.random() < 0.5:
            add(moment + datetime.timedelta(hours=rng.randint(1, 30)), lambda: inbox.set_status(
                actor=agent, conversation=state["chat"], status=Conversation.Status.RESOLVED
            ))  # fmt: skip
        # The customer read what the shop sent (so no "unread messages" e-mail is due).
        add(moment + datetime.timedelta(hours=2), lambda: receipts.mark_read(
            actor=customer, conversation=state["chat"]
        ))  # fmt: skip

    def _say(self, state: dict, actor: User, body: str):
        return lambda: messages.send_text(actor=actor, conversation=state["chat"], body=body)

    def _lines(self) -> list[dict]:
        rng = self.rng
        product = self.products.get(rng.choice(self.spec["products"]))
        free = self.spec.get("free_lines")
        if product is None or (free and rng.random() < 0.5):
            name, price = rng.choice(free)
            return [{"name": name, "unit_price": price, "quantity": 1}]
        return [{"product_id": product.pk, "quantity": rng.randint(1, 3)}]

    def _plan_order(self, state, customer, agent, moment) -> datetime.datetime:
        rng, add = self.rng, self.h.add
        moment += datetime.timedelta(minutes=rng.randint(2, 30))
        lines = self._lines()
        shipping_fee = self.spec["shipping"]

        def request():
            state["order"] = orders.create_payment_request(
                actor=agent, conversation=state["chat"], lines=lines, shipping=shipping_fee
            )

        add(moment, request)
        if rng.random() >= 0.75:  # asked to pay, never paid: it expires
            return moment
        moment += datetime.timedelta(minutes=rng.randint(2, 600))

        def pay():
            card = state.get("card") or self._wallet(customer)
            state["card"] = card
            paying.pay_order(
                payer=customer, order=state["order"], card=card, confirmation="pin", pin=PIN,
                idempotency_key=f"demo-{uuid.uuid4().hex}",  # the gateway keeps keys
            )  # fmt: skip

        add(moment, pay)
        refund = rng.random()
        if refund < 0.08:  # sold out after all: everything back, nothing shipped
            moment += datetime.timedelta(hours=rng.randint(2, 48))
            add(moment, self._refund(state, full=True, reason="Produto esgotado"))
            return moment
        if rng.random() < 0.8:
            moment += datetime.timedelta(hours=rng.randint(1, 20))

            def ship():
                order = Order.objects.get(pk=state["order"].pk)
                shipping.mark_shipped(
                    actor=agent, order=order, carrier="Entrega própria",
                    tracking_code=f"EP{order.number:05}",
                )  # fmt: skip
                outbox.send_due()

            add(moment, ship)
            moment += datetime.timedelta(hours=rng.randint(2, 30))

            def deliver():
                shipping.mark_delivered(actor=agent, order=Order.objects.get(pk=state["order"].pk))
                outbox.send_due()

            add(moment, deliver)
            if refund > 0.9:  # arrived late: part of the money back
                late = moment + datetime.timedelta(hours=rng.randint(1, 24))
                add(late, self._refund(state, full=False, reason="Desconto pelo atraso"))
            checkin = moment + datetime.timedelta(days=3)
            add(checkin, lambda: self._check_in(state))
            if rng.random() < 0.6:
                score = _weighted(rng, [(5, 45), (4, 30), (3, 12), (2, 7), (1, 6)])
                add(checkin + datetime.timedelta(minutes=rng.randint(5, 900)),
                    lambda: self._rate(state, customer, score))  # fmt: skip
        return moment

    def _refund(self, state: dict, *, full: bool, reason: str):
        def run():
            order = Order.objects.get(pk=state["order"].pk)
            refunds.refund_order(
                actor=self.owner, order=order, amount=order.total if full else order.total // 4,
                reason=reason, idempotency_key=f"demo-refund-{uuid.uuid4().hex}",
            )  # fmt: skip

        return run

    def _check_in(self, state: dict) -> None:
        """The outbox sends the check-in when it falls due: here, now."""
        prefix = marketing.followup_prefix(state["order"].pk)
        due = ScheduledMessage.objects.filter(
            dedupe_key__startswith=prefix, status=ScheduledMessage.Status.SCHEDULED
        )
        due.update(due_at=timezone.now())
        for pk in list(due.values_list("pk", flat=True)):
            outbox.send_scheduled(scheduled_id=pk)

    def _rate(self, state: dict, customer: User, score: int) -> None:
        card = (
            Message.objects.filter(conversation=state["chat"], kind="followup")
            .order_by("-seq")
            .first()
        )
        if card is not None and card.payload.get("rating"):
            marketing.rate_order(customer=customer, message=card, score=score)

    # --- offers ------------------------------------------------------------------------

    def plan_broadcasts(self, texts: list[tuple[int, str]]) -> None:
        for days_ago, text in texts:
            local = self.h.now.astimezone(self.business.tz) - datetime.timedelta(days=days_ago)
            moment = datetime.datetime.combine(local.date(), datetime.time(10), self.business.tz)
            self.h.add(moment, lambda text=text, moment=moment: self._broadcast(text, moment))

    def _broadcast(self, text: str, moment: datetime.datetime) -> None:
        self.broadcasts += 1
        broadcast = marketing.create_broadcast(
            actor=self.owner, business=self.business, text=text, audience="all"
        )
        # Its offers fall due one after another from now: the throttle's pace is not
        # what the demo shows, so they go out in this step.
        ScheduledMessage.objects.filter(
            dedupe_key__startswith=broadcast.key_prefix, status=ScheduledMessage.Status.SCHEDULED
        ).update(due_at=timezone.now())
        marketing.send_broadcast_batch(broadcast_id=broadcast.pk, limit=1000)
        rng = self.rng
        offers = Message.objects.filter(
            kind="offer", payload__broadcast_id=broadcast.pk
        ).select_related("conversation__contact__user")
        offers = list(offers)
        for n, offer in enumerate(offers, 1):
            customer = offer.conversation.contact.user
            roll = rng.random()
            if self.broadcasts == 2 and n == len(offers):  # one customer had enough
                roll = 1.0
            if roll < 0.6:
                later = moment + datetime.timedelta(minutes=rng.randint(5, 600))
                self.h.add(later, lambda c=customer, chat=offer.conversation: receipts.mark_read(
                    actor=c, conversation=chat
                ))  # fmt: skip
            if roll < 0.15:
                later = moment + datetime.timedelta(minutes=rng.randint(620, 900))
                self.h.add(later, lambda c=customer, chat=offer.conversation: messages.send_text(
                    actor=c, conversation=chat, body="Oba! Ainda tem?"
                ))  # fmt: skip
            elif roll == 1.0:
                later = moment + datetime.timedelta(minutes=rng.randint(30, 300))
                self.h.add(later, lambda c=customer, chat=offer.conversation: messages.send_text(
                    actor=c, conversation=chat, body="SAIR"
                ))  # fmt: skip

    broadcasts = 0


BROADCASTS = {
    "padaria-aurora": [
        (80, "Oi {first_name}! Esta semana o pão de fermentação natural sai às 7h. 🥖"),
        (45, "{first_name}, bolos de festa com 10% de desconto para encomendas até sexta."),
        (12, "Chegou o panetone artesanal da {business}! Reserve o seu, {first_name}."),
    ],
    "mare-moda": [
        (60, "Oi {first_name}! Nova coleção de verão na {business}. 🌊"),
        (20, "{first_name}, frete grátis para todo o Brasil neste fim de semana."),
    ],
}


def load_history() -> None:
    """The demo shops' last DAYS days (see the module docstring). Call it inside the
    demo's transaction, after the other apps' demo data and the campaigns."""
    now = timezone.now()
    history = History(now)
    start = now - datetime.timedelta(days=DAYS + 1)
    shops = []
    # The PIN hash is deliberately slow (PBKDF2); these customers' PINs only serve to
    # let the story pay, and they have no password to sign in with, so a fast hasher
    # keeps the demo quick. The load runs in one go: the per-minute chat limit is lifted.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        CHAT_MESSAGES_PER_MINUTE=1_000_000,
    ), transaction.atomic():  # fmt: skip
        history.clock.at(start)
        for slug, spec in SHOPS.items():
            shop = Shop(history, Business.objects.get(slug=slug), spec)
            shop.set_up(start, card_year=now.year + 3)
            shops.append(shop)
        for shop in shops:
            for customer in shop.customers:
                shop.plan(customer)
            shop.plan_broadcasts(BROADCASTS[shop.business.slug])
        history.play()
        history.clock.backdate()
        _date_offer_campaigns([shop.business for shop in shops], now)
    # Requests the customers never paid are past their expiry now.
    orders.expire_orders()
    # The reports read the rollups: made from the history's rows, as
    # `manage.py rebuild_insights` would.
    rollups.rebuild()


def _date_offer_campaigns(businesses: list[Business], now: datetime.datetime) -> None:
    """An offer broadcast's campaign is named and dated after the day it is sent, as
    the service saw it: today. Backdating moved the broadcasts; their campaigns follow."""
    for broadcast in Broadcast.objects.filter(business__in=businesses).select_related("business"):
        campaign = Campaign.objects.filter(broadcast=broadcast).first()
        if campaign is None:
            continue
        today = timezone.localtime(now, broadcast.business.tz).date()
        day = timezone.localtime(broadcast.send_at, broadcast.business.tz).date()
        Campaign.objects.filter(pk=campaign.pk).update(
            name=campaign.name.replace(today.isoformat(), day.isoformat(), 1), starts_on=day
        )
