"""Demo campaigns and history (after marketing/demo.py): Padaria Aurora's two
campaigns — Instagram's sourdough week (one total cost) and Google's cake orders
(daily spend) — with clicks on their links, one click from a link that matches no
campaign (it lands in an automatic campaign), then a few months of chats, orders,
ratings and offers for both shops (insights/demo_history.py), so the Campaigns page
and every report have figures to show."""

import datetime
import hashlib
import time

from django.db import transaction
from django.utils import timezone

from accounts.models import Business, User
from insights import demo_history
from insights.models import Channel
from insights.services import campaigns, spend, touches


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
    google = campaigns.create_campaign(
        actor=ana,
        business=business,
        name="Google — encomendas de bolo",
        channel=Channel.GOOGLE,
        code="encomendas-de-bolo",
        starts_on=today - datetime.timedelta(days=90),
        cost_mode="daily",
        utm_source="google",
        utm_medium="cpc",
        link_text="Oi! Quero encomendar um bolo",
    )
    for days_ago in range(90, -1, -1):
        # R$ 12–30 a day, more at the weekend (a fixed pattern: the demo is deterministic)
        day = today - datetime.timedelta(days=days_ago)
        amount = 1_200 + (days_ago * 7 % 10) * 150 + (600 if day.weekday() >= 5 else 0)
        spend.add_spend_line(actor=ana, campaign=google, day=day, amount=amount)
        for n in range(days_ago % 4):
            clicks.append(
                {
                    "b": business.pk,
                    "at": now - days_ago * 86400 - n * 5400 - 3600,
                    "pg": "chat" if n % 2 else "shop",
                    "v": hashlib.sha256(f"demo-google-{days_ago}-{n}".encode()).hexdigest()[:32],
                    "source": "google",
                    "medium": "cpc",
                    "campaign": google.code,
                    "click_id_kind": "gclid",
                    "click_id": f"demo-{days_ago}-{n}",
                }
            )
    with transaction.atomic():
        touches.write_clicks(clicks)
    demo_history.load_history()
