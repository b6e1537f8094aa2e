"""Payout destinations (a business's: owners only; a user's own, for the wallet), the
customer's wallet balance page (withdraw, history) and the statement exports. Parse,
authorize through a selector, call one service, render."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from accounts.views import render_dashboard
from core.errors import AppError, add_form_error
from core.money import format_money
from payments import selectors
from payments.forms.destinations import BankAccountForm, PixKeyForm
from payments.forms.payouts import StatementForm, WithdrawForm
from payments.services import destinations as destination_services
from payments.services import payouts as payout_services
from payments.statements import parse_period, write_statement
from payments.views.balance import render_balance

ROLE = Membership.Role
_FORMS = {"pix": PixKeyForm, "bank_account": BankAccountForm}
_DONE = {
    "added": gettext_lazy("The payout destination %(destination)s was added."),
    "changed": gettext_lazy("The payout destination %(destination)s was changed."),
}


def _business(request, slug):
    return (
        None
        if slug is None
        else get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
    )


def _back(business):
    if business is None:
        return redirect("wallet_destinations")
    return redirect("payout_destinations", slug=business.slug)


def _render(request, business, template_name, context, status=200):
    if business is None:
        response = render(request, f"payments/payouts/wallet_{template_name}", context)
    else:
        response = render_dashboard(
            request, business, "balance", f"payments/payouts/{template_name}", context
        )
    response.status_code = status
    return response


def _destinations_page(request, slug=None):
    """The destinations and the two add forms (a Pix key, a bank account)."""
    business = _business(request, slug)
    kind = request.POST.get("kind") if request.method == "POST" else None
    forms = {
        name: form_class(request.POST if kind == name else None, prefix=name)
        for name, form_class in _FORMS.items()
    }
    if kind in forms:
        form = forms[kind]
        if form.is_valid():
            data = dict(form.cleaned_data)
            make_default = data.pop("make_default", False)
            try:
                destination = destination_services.add_destination(
                    actor=request.user,
                    business=business,
                    kind=kind,
                    data=data,
                    make_default=make_default,
                )
            except AppError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, _DONE["added"] % {"destination": destination})
                return _back(business)
    destinations = selectors.list_destinations(business=business, user=request.user)
    context = {
        "destinations": destinations,
        "pix_form": forms["pix"],
        "bank_form": forms["bank_account"],
    }
    return _render(request, business, "destinations.html", context, 400 if kind else 200)


def _edit_page(request, destination_id, slug=None):
    business = _business(request, slug)
    destination = selectors.get_destination_for(
        destination_id=destination_id, business=business, user=request.user
    )
    form_class = _FORMS[destination.kind]
    form = form_class(request.POST or None, prefix=destination.kind)
    form.fields.pop("make_default", None)
    if request.method == "POST" and form.is_valid():
        try:
            destination = destination_services.change_destination(
                actor=request.user,
                business=business,
                destination=destination,
                data=form.cleaned_data,
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _DONE["changed"] % {"destination": destination})
            return _back(business)
    context = {"destination": destination, "form": form}
    return _render(request, business, "edit.html", context, 400 if form.errors else 200)


def _set_default(request, destination_id, slug=None):
    business = _business(request, slug)
    destination = selectors.get_destination_for(
        destination_id=destination_id, business=business, user=request.user
    )
    destination_services.set_default_destination(
        actor=request.user, business=business, destination=destination
    )
    messages.success(
        request, _("Payouts now go to %(destination)s.") % {"destination": destination}
    )
    return _back(business)


def _remove(request, destination_id, slug=None):
    business = _business(request, slug)
    destination = selectors.get_destination_for(
        destination_id=destination_id, business=business, user=request.user
    )
    destination_services.remove_destination(
        actor=request.user, business=business, destination=destination
    )
    messages.success(request, _("%(destination)s was removed.") % {"destination": destination})
    return _back(business)


# --- A business's destinations (owners) ------------------------------------------------------


@sensitive_post_parameters()
@login_required
def payout_destinations(request, slug):
    return _destinations_page(request, slug)


@sensitive_post_parameters()
@login_required
def payout_destination_edit(request, slug, destination_id):
    return _edit_page(request, destination_id, slug)


@login_required
@require_POST
def payout_destination_default(request, slug, destination_id):
    return _set_default(request, destination_id, slug)


@login_required
@require_POST
def payout_destination_remove(request, slug, destination_id):
    return _remove(request, destination_id, slug)


# --- A user's own destinations ----------------------------------------------------------------


@sensitive_post_parameters()
@login_required
def wallet_destinations(request):
    return _destinations_page(request)


@sensitive_post_parameters()
@login_required
def wallet_destination_edit(request, destination_id):
    return _edit_page(request, destination_id)


@login_required
@require_POST
def wallet_destination_default(request, destination_id):
    return _set_default(request, destination_id)


@login_required
@require_POST
def wallet_destination_remove(request, destination_id):
    return _remove(request, destination_id)


# --- The wallet's balance: withdraw, history ------------------------------------------------


@sensitive_post_parameters("pin")
@login_required
def wallet_balance(request):
    user = request.user
    today = timezone.localdate()
    destinations = list(selectors.list_destinations(user=user))
    form = WithdrawForm(
        request.POST or None, destinations=destinations, attempt=secrets.token_urlsafe(24)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            destination = selectors.get_destination_for(
                destination_id=data["destination"], user=user
            )
            payout = payout_services.request_withdrawal(
                user=user,
                destination=destination,
                amount=data["amount"],
                idempotency_key=f"web:{data['attempt']}",
                pin=data["pin"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("Withdrawal of %(amount)s to %(destination)s is on its way.")
                % {
                    "amount": format_money(payout.amount, payout.currency),
                    "destination": destination,
                },
            )
            return redirect("wallet_balance")
    context = {
        "balance": selectors.wallet_balance(user=user),
        "currency": payout_services.PAYOUT_CURRENCY,
        "destinations": destinations,
        "payouts": selectors.list_payouts(user=user),
        "form": form,
        "statement_form": StatementForm(initial={"start": today.replace(day=1), "end": today}),
    }
    return render(
        request, "payments/payouts/wallet_balance.html", context, status=400 if form.errors else 200
    )


# --- Statements (CSV) -----------------------------------------------------------------------


def _statement(request, *, business=None):
    """The CSV for the period in the query string, or None with the form's errors."""
    form = StatementForm(request.GET)
    if not form.is_valid():
        return None, form
    tz = business.tz if business else timezone.get_default_timezone()
    try:
        start, end = parse_period(
            form.cleaned_data["start"],
            form.cleaned_data["end"],
            today=timezone.localdate(timezone=tz),
        )
    except AppError as exc:
        add_form_error(form, exc)
        return None, form
    currency = business.currency if business else payout_services.PAYOUT_CURRENCY
    opening, entries = selectors.statement_entries(
        start=start, end=end, business=business, user=request.user, currency=currency
    )
    holder = business.slug if business else "wallet"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{holder}-{start}-{end}.csv"'
    write_statement(response, opening=opening, entries=entries.iterator(), currency=currency, tz=tz)
    return response, form


@login_required
def balance_statement(request, slug):
    business = get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    response, form = _statement(request, business=business)
    if response is not None:
        return response
    return render_balance(request, business, statement_form=form, status=400)


@login_required
def wallet_statement(request):
    response, form = _statement(request)
    if response is not None:
        return response
    messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("wallet_balance")


DEST = "dashboard/<slug:slug>/payouts/destinations/"
urlpatterns = [
    path(DEST, payout_destinations, name="payout_destinations"),
    path(DEST + "<int:destination_id>/edit/", payout_destination_edit,
         name="payout_destination_edit"),
    path(DEST + "<int:destination_id>/default/", payout_destination_default,
         name="payout_destination_default"),
    path(DEST + "<int:destination_id>/remove/", payout_destination_remove,
         name="payout_destination_remove"),
    path("dashboard/<slug:slug>/balance/statement/", balance_statement, name="balance_statement"),
    path("wallet/balance/", wallet_balance, name="wallet_balance"),
    path("wallet/balance/statement/", wallet_statement, name="wallet_statement"),
    path("wallet/destinations/", wallet_destinations, name="wallet_destinations"),
    path("wallet/destinations/<int:destination_id>/edit/", wallet_destination_edit,
         name="wallet_destination_edit"),
    path("wallet/destinations/<int:destination_id>/default/", wallet_destination_default,
         name="wallet_destination_default"),
    path("wallet/destinations/<int:destination_id>/remove/", wallet_destination_remove,
         name="wallet_destination_remove"),
]  # fmt: skip
