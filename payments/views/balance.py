"""The merchant's Balance page: available now, pending (and when), the postings."""

from django.contrib.auth.decorators import login_required
from django.urls import path

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from payments import selectors


@login_required
def balance(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.ADMIN)
    summary = selectors.balance_summary(business=business, currency=business.currency)
    entries = selectors.list_entries_for_business(business=business, currency=business.currency)
    return render_dashboard(
        request,
        business,
        "balance",
        "payments/balance.html",
        {"summary": summary, "entries": entries},
    )


urlpatterns = [path("dashboard/<slug:slug>/balance/", balance, name="balance")]
