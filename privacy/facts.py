"""What Conversa stores about people, where, and for how long: the one list the
public privacy page renders (and docs/privacy.md describes), with the retention
times read from the settings so the page never disagrees with the code."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _


def financial_retention() -> str:
    days = settings.FINANCIAL_RETENTION_DAYS
    if days is None:
        return str(_("until the end of the fifth calendar year after the payment"))
    return str(_("%(days)s days after the payment") % {"days": days})


def facts() -> dict:
    return {
        "export_ttl_days": settings.PRIVACY_EXPORT_TTL_DAYS,
        "exports_per_day": settings.PRIVACY_EXPORTS_PER_DAY,
        "financial_retention": financial_retention(),
        "kept": [
            (_("Your account"), _("e-mail, name, phone, language, sign-in history"),
             _("until you delete your account")),
            (_("Chats"), _("the messages and images you and the shops exchange"),
             _("until you delete your account (then replaced by “message removed”)")),
            (_("Saved cards"), _("a token from the card gateway, brand, last four digits, "
                                 "expiry; never the number or the security code"),
             _("until you remove the card or delete your account")),
            (_("Orders, payments, transfers and withdrawals"),
             _("amounts, dates, what was bought"), financial_retention()),
            (_("Consent to offers"),
             _("each time you agreed or stopped, where, and the words you were shown"),
             _("as long as the shop keeps your contact")),
            (_("Data exports"), _("the ZIP file you asked for"),
             _("%(days)s days") % {"days": settings.PRIVACY_EXPORT_TTL_DAYS}),
        ],
    }  # fmt: skip
