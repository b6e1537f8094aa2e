"""Account → Privacy (download my data, delete my account), the business's contact
actions and audit list, and the public privacy page (docs/privacy.md)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from accounts.selectors import get_business_for
from core.errors import AppError, add_form_error
from payments.services import pins
from privacy import facts, selectors
from privacy.forms import DeleteAccountForm
from privacy.models import PrivacyRequest
from privacy.services import erasure, exports

ADMIN = Membership.Role.ADMIN


def privacy_policy(request):
    """The public privacy page, made from the same facts as docs/privacy.md."""
    return render(request, "privacy/policy.html", {"facts": facts.facts()})


def _home_context(request, form=None) -> dict:
    has_pin = pins.has_pin(request.user)
    return {
        "export": selectors.latest_export(user=request.user),
        "refusals": erasure.deletion_refusals(request.user),
        "form": form or DeleteAccountForm(has_pin=has_pin),
        "ttl_days": settings.PRIVACY_EXPORT_TTL_DAYS,
        "facts": facts.facts(),
    }


@login_required
def privacy_home(request):
    return render(request, "privacy/home.html", _home_context(request))


@login_required
@require_POST
def export_request(request):
    try:
        exports.request_export(actor=request.user, subject=request.user)
    except AppError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("We are preparing your data. We will e-mail you when it is ready.")
        )
    return redirect("privacy_home")


@login_required
def export_status(request, request_id: int):
    """HTMX polling (every 2 s while it is prepared): the progress bar."""
    export = selectors.get_export_for(user=request.user, request_id=request_id)
    return render(
        request,
        "privacy/_export_status.html",
        {"export": export, "download": "privacy_export_download"},
    )


def _file_response(export: PrivacyRequest):
    path = exports.export_path(export)
    if path is None:
        raise Http404("This export has expired.")
    day = export.created_at.date().isoformat()
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"conversa-data-{day}.zip",
        content_type="application/zip",
    )  # fmt: skip


@login_required
def export_download(request, request_id: int):
    export = selectors.get_export_for(user=request.user, request_id=request_id)
    return _file_response(export)


@login_required
@require_POST
def delete_account(request):
    has_pin = pins.has_pin(request.user)
    form = DeleteAccountForm(request.POST, has_pin=has_pin)
    if form.is_valid():
        try:
            erasure.delete_account(
                user=request.user,
                password=form.cleaned_data["password"],
                pin=form.cleaned_data.get("pin") or "",
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            logout(request)
            return render(request, "privacy/deleted.html")
    return render(request, "privacy/home.html", _home_context(request, form), status=400)


# --- A business's contacts ------------------------------------------------------------


@login_required
def business_audit(request, slug: str):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    return render(
        request,
        "privacy/business_audit.html",
        {
            "business": business,
            "section": "privacy",
            "requests": selectors.list_business_audit(business=business)[:200],
        },
    )


@login_required
@require_POST
def contact_export(request, slug: str, contact_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    contact = selectors.get_contact_for(business=business, contact_id=contact_id)
    try:
        exports.request_export(actor=request.user, subject=contact.user, business=business)
    except AppError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("The contact's data is being prepared. It will be listed under Privacy.")
        )
    return redirect("privacy_business_audit", slug=business.slug)


@login_required
@require_POST
def contact_erase(request, slug: str, contact_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    contact = selectors.get_contact_for(business=business, contact_id=contact_id)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Tick the box to confirm the erasure."))
    else:
        erasure.erase_contact(actor=request.user, contact=contact)
        messages.success(request, _("The contact's data in this business was erased."))
    return redirect("privacy_business_audit", slug=business.slug)


@login_required
def contact_export_download(request, slug: str, request_id: int):
    business = get_business_for(user=request.user, slug=slug, min_role=ADMIN)
    export = selectors.get_export_for(user=request.user, request_id=request_id, business=business)
    return _file_response(export)
