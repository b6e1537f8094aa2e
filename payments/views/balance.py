"""The merchant's "Balance & payouts" page: available now, pending (and when), the
payouts with their status, the statement export, the postings."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from payments import selectors
from payments.forms import StatementForm
from payments.services import payouts


def render_balance(request, business, *, statement_form=None, status=200):
    summary = selectors.balance_summary(business=business, currency=business.currency)
    entries = selectors.list_entries_for_business(business=business, currency=business.currency)
    if statement_form is None:
        today = timezone.localdate(timezone=business.tz)
        statement_form = StatementForm(initial={"start": today.replace(day=1), "end": today})
    response = render_dashboard(
        request,
        business,
        "balance",
        "payments/balance.html",
        {
            "summary": summary,
            "entries": entries,
            "payouts": selectors.list_payouts(business=business, limit=20),
            "paused_reason": payouts.pause_reason(business),
            "default_destination": payouts.default_destination(business=business),
            "statement_form": statement_form,
            "is_owner": business.membership.role == Membership.Role.OWNER,
        },
    )
    response.status_code = status
    return response


@login_required
def balance(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.ADMIN)
    return render_balance(request, business)


urlpatterns = [path("dashboard/<slug:slug>/balance/", balance, name="balance")]
