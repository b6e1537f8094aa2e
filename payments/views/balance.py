"""The merchant's "Balance & payouts" page: available now, pending (and when), the
owner's "Pay out now" and automatic schedule, the payouts with their status, the
statement export, the postings."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from core.errors import AppError, add_form_error
from core.money import format_money
from payments import selectors
from payments.forms.payouts import PayoutNowForm, PayoutScheduleForm, StatementForm
from payments.services import payouts


def render_balance(
    request,
    business,
    *,
    statement_form=None,
    payout_form=None,
    schedule_form=None,
    status=200,
):
    summary = selectors.balance_summary(business=business, currency=business.currency)
    entries = selectors.list_entries_for_business(business=business, currency=business.currency)
    if statement_form is None:
        today = timezone.localdate(timezone=business.tz)
        statement_form = StatementForm(initial={"start": today.replace(day=1), "end": today})
    is_owner = business.membership.role == Membership.Role.OWNER
    schedule = payouts.payout_schedule(business)
    if is_owner and payout_form is None:
        payout_form = PayoutNowForm(initial={"attempt": secrets.token_urlsafe(24)})
    if is_owner and schedule_form is None:
        schedule_form = PayoutScheduleForm(initial={"schedule": schedule})
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
            "is_owner": is_owner,
            "payout_form": payout_form,
            "schedule_form": schedule_form,
            "minimum": settings.PAYOUT_MINIMUM,
            "schedule": schedule,
        },
    )
    response.status_code = status
    return response


@login_required
def balance(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.ADMIN)
    return render_balance(request, business)


@sensitive_post_parameters("password")
@login_required
@require_POST
def balance_pay_out_now(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.OWNER)
    form = PayoutNowForm(request.POST)
    if form.is_valid():
        try:
            payout = payouts.pay_out_now(
                actor=request.user,
                business=business,
                password=form.cleaned_data["password"],
                attempt=f"web:{form.cleaned_data['attempt']}",
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("Payout of %(amount)s to %(destination)s is on its way.")
                % {
                    "amount": format_money(payout.amount, payout.currency),
                    "destination": payout.destination_label,
                },
            )
            return redirect("balance", slug=business.slug)
    # A new token for the next try: the one that failed created nothing.
    data = form.data.copy()
    data["attempt"] = secrets.token_urlsafe(24)
    data["password"] = ""
    form.data = data
    return render_balance(request, business, payout_form=form, status=400)


@login_required
@require_POST
def balance_schedule(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=Membership.Role.OWNER)
    form = PayoutScheduleForm(request.POST)
    if form.is_valid():
        try:
            control = payouts.set_payout_schedule(
                actor=request.user, business=business, schedule=form.cleaned_data["schedule"]
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("Automatic payouts: %(schedule)s.")
                % {"schedule": control.get_schedule_display()},
            )
            return redirect("balance", slug=business.slug)
    return render_balance(request, business, schedule_form=form, status=400)


urlpatterns = [
    path("dashboard/<slug:slug>/balance/", balance, name="balance"),
    path("dashboard/<slug:slug>/balance/pay-out/", balance_pay_out_now, name="balance_pay_out_now"),
    path("dashboard/<slug:slug>/balance/schedule/", balance_schedule, name="balance_schedule"),
]
