"""Rollup rows for the report tests, written directly (the arithmetic of the report
selectors is under test here, not the rollups that fill them)."""

import datetime

from chats.models import Contact, Conversation, Label
from insights.models import ActivityDay, ConversationFact, DailyFigure


def figure(business, day, dim="total", key="", **sums) -> DailyFigure:
    return DailyFigure.objects.create(business=business, day=day, dim=dim, key=key, **sums)


def conversation(
    business,
    customer,
    *,
    started_at,
    outcome="none",
    product=None,
    source="",
    campaign=None,
    agent=None,
    response=None,
    revenue=0,
    labels=(),
) -> ConversationFact:
    contact = Contact.objects.create(business=business, user=customer)
    for name in labels:
        contact.labels.add(Label.objects.get_or_create(business=business, name=name)[0])
    conv = Conversation.objects.create(
        kind=Conversation.Kind.BUSINESS, business=business, contact=contact, created_at=started_at
    )
    local = started_at.astimezone(business.tz)
    return ConversationFact.objects.create(
        conversation=conv,
        business=business,
        started_at=started_at,
        started_on=local.date(),
        started_hour=local.hour,
        source=source,
        campaign=campaign,
        product=product,
        agent=agent,
        first_customer_at=started_at,
        first_response_seconds=response,
        first_response_at=None
        if response is None
        else started_at + datetime.timedelta(seconds=response),
        outcome=outcome,
        requests=int(outcome != "none"),
        paid_orders=int(outcome == "bought"),
        revenue=revenue,
    )


def activity(fact: ConversationFact, day, incoming=1, outgoing=0) -> ActivityDay:
    return ActivityDay.objects.create(
        business=fact.business,
        conversation_id=fact.conversation_id,
        day=day,
        incoming=incoming,
        outgoing=outgoing,
    )
