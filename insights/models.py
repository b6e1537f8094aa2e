"""Campaigns, their cost, the touches that bring people in, and the attribution of
each paid order to them (docs/insights.md).

- A :class:`Campaign` is what a merchant promotes: a name, a channel, dates in the
  business's time zone, a cost (one total, or :class:`SpendLine` rows a day) and a
  ``code`` that its tracked links carry (``ref=<code>`` and ``utm_campaign=<code>``).
  Links whose ``utm_*``/``ref`` values match no campaign are grouped under an
  *automatic* campaign (``auto_key``: source/medium/campaign), which the merchant
  may rename, or merge into a real one.
- A :class:`Touch` is one step that may lead to a sale: a tracked link's click, a
  conversation started, an offer delivered, an ad click id. It holds no personal
  data: an anonymous visitor is a daily-rotating salted hash (``visitor``), a known
  customer the business's ``Contact``.
- An :class:`OrderAttribution` is the snapshot taken when an order is paid: its
  first touch and its last touch within the business's attribution window, or
  "direct" when there was none. Refunds are not copied here: they are read from
  payments, and reduce the revenue credited to the same campaign.

Money is integer minor units with the order's (or the campaign's) currency.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.models import Business

# Column sizes: values from URLs are cut to these before they are stored.
CODE_MAX = 40
UTM_MAX = 100
CLICK_ID_MAX = 255
LINK_TEXT_MAX = 500  # the click-to-chat link's prefilled text (chats' limit)
MAX_COST = 10**12  # minor units: R$ 10 billion, far above any small business's campaign


class Channel(models.TextChoices):
    INSTAGRAM = "instagram", _("Instagram")
    FACEBOOK = "facebook", _("Facebook")
    GOOGLE = "google", _("Google")
    TIKTOK = "tiktok", _("TikTok")
    FLYER = "flyer", _("Flyer or poster")
    EMAIL = "email", _("E-mail")
    INFLUENCER = "influencer", _("Influencer")
    BROADCAST = "broadcast", _("Offer broadcast")
    OTHER = "other", _("Other")


class AttributionSettings(models.Model):
    """A business's attribution window: how long after a touch a paid order is still
    credited to it (1, 7 or 28 days; 7 when the business never chose)."""

    class Window(models.IntegerChoices):
        ONE = 1, _("1 day")
        SEVEN = 7, _("7 days")
        TWENTY_EIGHT = 28, _("28 days")

    DEFAULT_WINDOW = Window.SEVEN

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="attribution_settings"
    )
    window_days = models.PositiveSmallIntegerField(
        _("attribution window"), choices=Window.choices, default=DEFAULT_WINDOW
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__in=[1, 7, 28]), name="attribution_window_choices"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.business_id}: {self.window_days}d"


class Campaign(models.Model):
    class CostMode(models.TextChoices):
        TOTAL = "total", _("One total")
        DAILY = "daily", _("Daily spend")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    # What the tracked links carry (ref=, utm_campaign=): letters, digits, - and _.
    code = models.SlugField(_("code"), max_length=CODE_MAX)
    channel = models.CharField(
        _("channel"), max_length=12, choices=Channel.choices, default=Channel.OTHER
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    cost_mode = models.CharField(
        _("cost"), max_length=5, choices=CostMode.choices, default=CostMode.TOTAL
    )
    # With CostMode.TOTAL: the whole cost, in minor units of ``currency``.
    total_cost = models.BigIntegerField(
        _("total cost"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_COST)],
    )
    currency = models.CharField(max_length=3)
    # The source of the traffic the tracked links announce (utm_source / utm_medium).
    utm_source = models.CharField(max_length=UTM_MAX, blank=True)
    utm_medium = models.CharField(max_length=UTM_MAX, blank=True)
    # Automatic campaigns: "source/medium/campaign" of untracked utm_*/ref values.
    is_automatic = models.BooleanField(default=False)
    auto_key = models.CharField(max_length=3 * UTM_MAX + 2, blank=True)
    # The offer broadcast this campaign was created with (its own campaign).
    broadcast = models.OneToOneField(
        "marketing.Broadcast",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaign",
    )
    # The prefilled message of the campaign's click-to-chat link (editable).
    link_text = models.CharField(_("prefilled message"), max_length=LINK_TEXT_MAX, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # An automatic campaign merged into a real one: kept (archived) so later touches
    # with its auto_key go to the real campaign (insights.services.touches).
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="campaign_code_unique"),
            models.UniqueConstraint(
                fields=["business", "auto_key"],
                condition=Q(is_automatic=True),
                name="campaign_auto_key_unique",
            ),
            models.CheckConstraint(
                condition=Q(total_cost__gte=0, total_cost__lte=MAX_COST),
                name="campaign_cost_in_range",
            ),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SpendLine(models.Model):
    """What a campaign cost on one day (in the business's time zone)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Entered by hand")
        IMPORT = "import", _("Imported from a file")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="spend_lines")
    day = models.DateField(_("date"))
    amount = models.BigIntegerField(
        _("amount"), validators=[MinValueValidator(0), MaxValueValidator(MAX_COST)]
    )
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["day", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "day"], name="spend_one_line_a_day"),
            models.CheckConstraint(
                condition=Q(amount__gte=0, amount__lte=MAX_COST), name="spend_amount_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.day}: {self.amount}"


class Touch(models.Model):
    """One step towards a sale. No personal data: ``visitor`` is a salted hash that
    changes every day, ``contact`` the business's own record of a known customer."""

    class Kind(models.TextChoices):
        CLICK = "click", _("Link click")
        CONVERSATION = "conversation", _("Conversation started")
        OFFER = "offer", _("Offer delivered")

    class Page(models.TextChoices):
        CHAT = "chat", _("Click to chat")
        SHOP = "shop", _("Shop page")
        PRODUCT = "product", _("Product page")
        NONE = "", _("None")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="touches"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    page = models.CharField(max_length=7, choices=Page.choices, blank=True)
    occurred_at = models.DateTimeField(default=now, db_index=True)
    # Where the touch came from, as the link said (cut to the column, stored as text).
    ref = models.CharField(max_length=UTM_MAX, blank=True)
    source = models.CharField(max_length=UTM_MAX, blank=True)
    medium = models.CharField(max_length=UTM_MAX, blank=True)
    utm_campaign = models.CharField(max_length=UTM_MAX, blank=True)
    # An ad network's click id (fbclid, gclid, click_id), and which one it was.
    click_id_kind = models.CharField(max_length=10, blank=True)
    click_id = models.CharField(max_length=CLICK_ID_MAX, blank=True)
    # Salted hash (hex) of the day's salt, the business, IP and user agent.
    visitor = models.CharField(max_length=32, blank=True, db_index=True)
    contact = models.ForeignKey(
        "chats.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    broadcast = models.ForeignKey(
        "marketing.Broadcast", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["business", "occurred_at"], name="touch_business_time"),
            models.Index(fields=["campaign", "occurred_at"], name="touch_campaign_time"),
            models.Index(fields=["contact", "occurred_at"], name="touch_contact_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


class OrderAttribution(models.Model):
    """Who brought a paid order: the snapshot taken when it was paid. Written once
    (``order`` is unique); refunds are read from payments, not copied here."""

    order = models.OneToOneField(
        "payments.Order", on_delete=models.CASCADE, related_name="attribution"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    paid_at = models.DateTimeField(db_index=True)
    window_days = models.PositiveSmallIntegerField()
    currency = models.CharField(max_length=3)
    gross = models.BigIntegerField()  # what the customer paid
    fee = models.BigIntegerField()  # the processing fee kept from it
    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contact = models.ForeignKey(
        "chats.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # First and last touch within the window (both empty: a direct order).
    first_touch = models.ForeignKey(
        Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="first_orders"
    )
    first_source = models.CharField(max_length=UTM_MAX, blank=True)
    first_medium = models.CharField(max_length=UTM_MAX, blank=True)
    first_click_id = models.CharField(max_length=CLICK_ID_MAX, blank=True)
    last_touch = models.ForeignKey(
        Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="last_orders"
    )
    last_source = models.CharField(max_length=UTM_MAX, blank=True)
    last_medium = models.CharField(max_length=UTM_MAX, blank=True)
    last_click_id = models.CharField(max_length=CLICK_ID_MAX, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["business", "paid_at"], name="attribution_business_paid"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(gross__gt=0, fee__gte=0) & Q(fee__lte=F("gross")),
                name="attribution_amounts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id}"

    @property
    def is_direct(self) -> bool:
        return self.first_campaign_id is None and self.last_campaign_id is None
