"""Users, businesses (the public profiles), memberships, invitations and API tokens."""

import datetime
import hashlib
import zoneinfo

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    RegexValidator,
)
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from accounts.validators import (
    validate_e164,
    validate_http_url,
    validate_no_markup,
    validate_timezone,
)

CURRENCIES = [("BRL", "BRL — Real"), ("USD", "USD — US dollar"), ("EUR", "EUR — Euro")]


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person: a customer, a merchant's staff member, or both. Logs in by e-mail."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(
        _("display name"), max_length=80, blank=True, validators=[validate_no_markup]
    )
    phone = models.CharField(
        _("phone"),
        max_length=20,
        blank=True,
        validators=[validate_e164],
        help_text=_("International format, e.g. +5511987654321."),
    )
    language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="pt-br"
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name or self.email

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email.split("@")[0]


class PixMode(models.TextChoices):
    COLLECTED = "collected", _("Collected by the platform")
    DIRECT = "direct", _("Direct to the business's Pix key")


class Business(models.Model):
    """A merchant's public profile. Field limits follow WhatsApp's business profile."""

    # What its admins edit, on the profile page and through the API (never the fee).
    PROFILE_FIELDS = (
        "name", "slug", "about", "description", "category", "address", "city", "country",
        "email", "phone", "website", "store_url", "timezone", "currency",
    )  # fmt: skip

    class Category(models.TextChoices):
        RETAIL = "retail", _("Retail")
        APPAREL = "apparel", _("Apparel")
        FOOD = "food", _("Food & grocery")
        RESTAURANT = "restaurant", _("Restaurant")
        BEAUTY = "beauty", _("Beauty")
        HEALTH = "health", _("Health")
        EDUCATION = "education", _("Education")
        PROFESSIONAL = "professional", _("Professional services")
        EVENTS = "events", _("Events")
        TRAVEL = "travel", _("Travel")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=80, validators=[validate_no_markup])
    slug = models.SlugField(
        _("address on Conversa"),
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                _("Use lowercase letters, digits and single hyphens."),
            )
        ],
    )
    about = models.CharField(
        _("about"), max_length=139, blank=True, validators=[validate_no_markup]
    )
    description = models.TextField(
        _("description"),
        max_length=512,
        blank=True,
        validators=[MaxLengthValidator(512), validate_no_markup],
    )
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.OTHER
    )
    address = models.CharField(
        _("address"), max_length=200, blank=True, validators=[validate_no_markup]
    )
    city = models.CharField(_("city"), max_length=80, blank=True, validators=[validate_no_markup])
    country = models.CharField(
        _("country"),
        max_length=2,
        default="BR",
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Use a two-letter country code, e.g. BR."))],
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(
        _("contact phone"), max_length=20, blank=True, validators=[validate_e164]
    )
    website = models.URLField(
        _("website"), max_length=300, blank=True, validators=[validate_http_url]
    )
    store_url = models.URLField(
        _("online store"), max_length=300, blank=True, validators=[validate_http_url]
    )
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    logo_thumb = models.ImageField(upload_to="logos/thumbs/", blank=True, editable=False)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="America/Sao_Paulo", validators=[validate_timezone]
    )
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="BRL")
    fee_bps = models.PositiveIntegerField(
        _("processing fee (basis points)"),
        default=399,
        validators=[MinValueValidator(0), MaxValueValidator(2000)],
        help_text=_("399 = 3.99 %. Editable by platform admins only."),
    )
    fee_pix_bps = models.PositiveIntegerField(
        _("Pix fee (basis points)"),
        default=99,
        validators=[MinValueValidator(0), MaxValueValidator(2000)],
        help_text=_("99 = 0.99 %, on collected Pix only. Editable by platform admins only."),
    )
    pix_mode = models.CharField(
        _("Pix"),
        max_length=12,
        choices=PixMode,
        default=PixMode.COLLECTED,
        help_text=_(
            "Collected: the platform's provider receives the Pix and pays it out with the "
            "rest of the balance. Direct: customers pay the business's own Pix key and "
            "the business marks the order paid."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Raised by every catalog write (catalog.services.bump_catalog_version) in the
    # write's transaction; the cached shop and product pages are keyed by it. Here
    # rather than in a catalog model so the shop page reads it with the business row.
    catalog_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("business")
        verbose_name_plural = _("businesses")
        ordering = ["name"]
        indexes = [models.Index(fields=["city"]), models.Index(fields=["category"])]

    def __str__(self) -> str:
        return self.name

    # get_absolute_url(): the public profile is the shop page, served by a higher app
    # (catalog: the profile with its catalog), so the project, which maps URLs to
    # apps, sets it (settings.ABSOLUTE_URL_OVERRIDES) and accounts names no higher
    # app's URL (docs/architecture.md, "Layers").

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_open_at(self, moment: datetime.datetime, hours: list["OpeningHours"]) -> bool:
        """Whether ``moment`` falls in one of ``hours`` (intervals may cross midnight)."""
        return is_open_at(moment, self.tz, hours)


def is_open_at(moment: datetime.datetime, tz: zoneinfo.ZoneInfo, hours) -> bool:
    """Whether ``moment`` falls in one of ``hours`` (anything with ``weekday``,
    ``opens`` and ``closes``, in time zone ``tz``; intervals may cross midnight)."""
    local = moment.astimezone(tz)
    today, clock = local.weekday(), local.time()
    yesterday = (today - 1) % 7
    for h in hours:
        if h.weekday == today and (
            (h.opens < h.closes and h.opens <= clock < h.closes)
            or (h.closes <= h.opens and clock >= h.opens)
        ):
            return True
        if h.weekday == yesterday and h.closes <= h.opens and clock < h.closes:
            return True
    return False


class OpeningHours(models.Model):
    """One opening interval on a weekday, in the business's time zone.

    ``closes`` at or before ``opens`` means the interval runs past midnight;
    00:00–00:00 means open all day. A weekday without a row is closed.
    """

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.UniqueConstraint(fields=["business", "weekday"], name="hours_one_per_day"),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="hours_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Membership(models.Model):
    class Role(models.TextChoices):
        AGENT = "agent", _("Agent")
        ADMIN = "admin", _("Admin")
        OWNER = "owner", _("Owner")

    RANK = {Role.AGENT: 1, Role.ADMIN: 2, Role.OWNER: 3}

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "business"], name="membership_unique"),
        ]
        ordering = ["business_id", "-role", "created_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.business} ({self.role})"

    @classmethod
    def rank(cls, role: str) -> int:
        return cls.RANK[cls.Role(role)]

    def has_role(self, min_role: str) -> bool:
        return self.rank(self.role) >= self.rank(min_role)


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random secret (tokens, invitation keys)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Invitation(models.Model):
    """An owner's invitation for someone to join a business. Single use; expires."""

    business = models.ForeignKey(Business, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(
        max_length=10, choices=Membership.Role.choices, default=Membership.Role.AGENT
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.business} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now()

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now():
            return "expired"
        return "pending"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=60, validators=[validate_no_markup])
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    # Touched at most once a minute (services.authenticate_api_token), not per request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # None: never expires (the owner chose so, after a warning).
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired
