"""Demo campaigns (after marketing/demo.py): Padaria Aurora's Instagram campaign with
its cost and a few clicks on its links over the last days, and one click from a link
that matches no campaign (it lands in an automatic campaign), so the Campaigns page
has figures to show."""

import datetime
import hashlib
import time

from django.db import transaction
from django.utils import timezone

from accounts.models import Business, User
from insights.models import Channel
from insights.services import campaigns, touches


def load_demo() -> None:
    business = Business.objects.get(slug="padaria-aurora")
    ana = User.objects.get(email="ana@padaria-aurora.example")
    today = timezone.now().astimezone(business.tz).date()
    campaign = campaigns.create_campaign(
        actor=ana,
        business=business,
        name="Instagram — sourdough week",
        channel=Channel.INSTAGRAM,
        code="sourdough-week",
        starts_on=today - datetime.timedelta(days=6),
        ends_on=today + datetime.timedelta(days=7),
        total_cost=8_000,
        link_text="Oi! Vi o pão de fermentação natural no Instagram",
    )
    now = time.time()
    clicks = [
        {
            "b": business.pk,
            "at": now - hours * 3600,
            "pg": page,
            "v": hashlib.sha256(f"demo-visitor-{n}".encode()).hexdigest()[:32],
            "ref": campaign.code,
            "source": "instagram",
            "medium": "social",
            "campaign": campaign.code,
        }
        for n, (hours, page) in enumerate([(70, "shop"), (50, "chat"), (26, "shop"), (3, "chat")])
    ]
    clicks.append(
        {"b": business.pk, "at": now - 7200, "pg": "shop", "v": "0" * 32, "source": "newsletter"}
    )
    with transaction.atomic():
        touches.write_clicks(clicks)
