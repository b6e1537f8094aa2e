"""What webhooks adds to lower apps' pages (registered in ``WebhooksConfig.ready``):
the dashboard's Integrations entry, for owners and admins."""

from django.utils.translation import gettext_lazy as _

from accounts.dashboard import register_nav
from accounts.models import Membership


def register() -> None:
    register_nav(
        section="integrations",
        label=_("Integrations"),
        icon="link",
        order=95,
        url_name="webhook_endpoints",
        min_role=Membership.Role.ADMIN,
    )
