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


# --- Rollups (docs/insights.md, "Reports") ---------------------------------------------
#
# The reports read these, not the raw rows: a period's figures are a sum over days.
# They are derived data, kept by insights.services.rollups (the refresh every
# ROLLUP_REFRESH_INTERVAL seconds, and ``manage.py rebuild_insights``), never edited
# by hand; a rebuild from the raw rows gives the same rows (a property test checks it).


class Outcome(models.TextChoices):
    """What a conversation led to within the attribution window after it started."""

    BOUGHT = "bought", _("Bought")
    UNPAID = "unpaid", _("Asked to pay, did not pay")
    NONE = "none", _("No payment request")


class ConversationFact(models.Model):
    """One business conversation as the reports see it: where it came from, who
    handled it, how fast, and what it led to. Days and hours are the business's."""

    conversation = models.OneToOneField(
        "chats.Conversation", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    started_on = models.DateField()
    started_hour = models.PositiveSmallIntegerField()  # 0–23, local
    # Where it came from: the conversation's utm_source (else its ref), "" = direct; the
    # campaign and the product card of the link it was opened from.
    source = models.CharField(max_length=UTM_MAX, blank=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who handled it: the assignee, else the member who answered first.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_customer_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Whether the customer's first message came inside the opening hours (None: no
    # hours set, or no customer message).
    in_hours = models.BooleanField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=6, choices=Outcome.choices, default=Outcome.NONE)
    requests = models.PositiveIntegerField(default=0)  # payment requests within the window
    paid_orders = models.PositiveIntegerField(default=0)  # paid within the window
    revenue = models.BigIntegerField(default=0)  # their net: gross − fee − refunds

    class Meta:
        indexes = [
            models.Index(fields=["business", "started_on"], name="fact_business_day"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} ({self.outcome})"


class ActivityDay(models.Model):
    """Messages of one conversation on one local day, by side: the customer's
    (``author`` null, ``incoming``) and the business's (``outgoing``: by a member,
    ``author`` set, or automatic, ``author`` null)."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    incoming = models.PositiveIntegerField(default=0)
    outgoing = models.PositiveIntegerField(default=0)
    rating_requests = models.PositiveIntegerField(default=0)  # check-ins asking for a rating

    class Meta:
        indexes = [
            models.Index(fields=["business", "day", "conversation"], name="activity_business_day"),
            models.Index(fields=["conversation", "day"], name="activity_conversation_day"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.conversation_id} on {self.day}"


class DailyFigure(models.Model):
    """The sums of one business's day, in total (``dim`` "total", ``key`` "") and
    broken down by one dimension. Conversation figures count the conversations that
    *started* that day (their outcome is known later and corrects the row); message
    figures count the day's messages; order figures count the payment requests made
    and the orders *paid* that day, a refund correcting its order's paid day."""

    class Dim(models.TextChoices):
        TOTAL = "total", _("Total")
        SOURCE = "source", _("Source")
        CAMPAIGN = "campaign", _("Campaign")
        AGENT = "agent", _("Agent")
        LABEL = "label", _("Label")
        PRODUCT = "product", _("Product")
        HOUR = "hour", _("Hour")
        RESPONSE = "response", _("First response time")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    dim = models.CharField(max_length=8, choices=Dim.choices)
    key = models.CharField(max_length=UTM_MAX, blank=True)
    # Conversations started this day, and what they led to.
    conversations = models.PositiveIntegerField(default=0)
    bought = models.PositiveIntegerField(default=0)
    unpaid = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)  # got a first response
    resolved = models.PositiveIntegerField(default=0)
    # The day's messages.
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)
    rating_requests = models.PositiveIntegerField(default=0)
    # Orders: payment requests made this day; orders paid this day and their money.
    requests = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    units = models.PositiveIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(default=0)
    refunds = models.BigIntegerField(default=0)  # amount − fee given back, of those orders
    # Satisfaction ratings given this day: count, sum of scores, and one count per score.
    ratings = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rated_1 = models.PositiveIntegerField(default=0)
    rated_2 = models.PositiveIntegerField(default=0)
    rated_3 = models.PositiveIntegerField(default=0)
    rated_4 = models.PositiveIntegerField(default=0)
    rated_5 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["business", "dim", "key", "day"], name="daily_figure_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["business", "dim", "day"], name="daily_figure_dim_day"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dim}:{self.key}"

    @property
    def net(self) -> int:
        return self.gross - self.fee - self.refunds


class RollupState(models.Model):
    """The refresh's cursor (one row): the time up to which changes have been folded
    into the rollups. The refresh locks it, so two never run at once."""

    scanned_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups up to {self.scanned_until}"


class StaleConversation(models.Model):
    """A conversation whose facts changed in a way the refresh's scan of recent
    messages cannot see (an order paid or refunded, a status, an assignee, a label, a
    rating): written by insights' hooks in the change's transaction, folded in and
    deleted by the next refresh."""

    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)

    def __str__(self) -> str:
        return f"conversation {self.conversation_id}"


class RollupVersion(models.Model):
    """A token of the current state of a business's rollups: a new random one in the
    transaction that recomputes them, so a report rendered for one token can be reused
    until the next (insights.reports.cache). Random, not a counter, so that two
    databases sharing a cache (a test run and the next) never share a token."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.CharField(max_length=32, blank=True)
    # Set when every rollup of the business must be recomputed (its attribution window
    # changed); the next refresh rebuilds it and clears this, so no message can be lost.
    rebuild_wanted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.business_id} {self.version}"
