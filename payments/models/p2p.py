"""Person-to-person payments: money requests and the limits (docs/payments.md)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class MoneyRequest(models.Model):
    """A request card in a direct conversation: ``requester`` asks ``payer`` for an
    amount; the payer pays it in one step (a person-to-person payment)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELED = "canceled", _("Canceled")
        DECLINED = "declined", _("Declined")

    conversation = models.ForeignKey(
        "chats.Conversation", on_delete=models.PROTECT, related_name="money_requests"
    )
    requester = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    payer = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    message = models.ForeignKey(
        "chats.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="money_request_amount_positive"),
            models.CheckConstraint(
                condition=~Q(requester=models.F("payer")), name="money_request_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"money request {self.pk} ({self.status})"


class P2PLimits(models.Model):
    """Person-to-person limits, edited in Django admin (one row, made with the
    defaults of WhatsApp Pay Brazil on first use). See docs/payments.md."""

    currency = models.CharField(_("currency"), max_length=3, default="BRL")
    max_per_payment = models.BigIntegerField(_("most per payment (minor units)"), default=100_000)
    max_received_per_day = models.PositiveIntegerField(
        _("most payments a person receives per day"), default=20
    )
    max_sent_per_month = models.BigIntegerField(
        _("most a person sends per calendar month (minor units)"), default=500_000
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("person-to-person limits")
        verbose_name_plural = _("person-to-person limits")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_per_payment__gt=0, max_sent_per_month__gt=0),
                name="p2p_limits_positive",
            ),
        ]

    def __str__(self) -> str:
        return str(_("person-to-person limits"))

    @classmethod
    def current(cls) -> "P2PLimits":
        limits = cls.objects.order_by("pk").first()
        if limits is None:
            limits, _created = cls.objects.get_or_create(pk=1)
        return limits
