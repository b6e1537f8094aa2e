"""The wallet's security pages: the payment PIN (set, change, reset with the account
password) and fingerprints (list, add through ``static/js/webauthn.js``, remove).
Parse, call one service, render; the JSON endpoints answer ``{"ok": ...}`` or
``{"error": ..., "code": ...}`` with a 4xx, never a 500 for bad input."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.errors import AppError, add_form_error
from core.flash import flash_outcome
from core.http import next_url
from payments.forms.cards import FingerprintNameForm, PinChangeForm, PinResetForm, PinSetForm
from payments.models import WebAuthnCredential
from payments.services import pins, webauthn

# --- PIN -----------------------------------------------------------------------------------

_PIN_FORMS = {
    "set": (PinSetForm, "set", lambda user, d: pins.set_pin(user=user, **d)),
    "change": (PinChangeForm, "change", lambda user, d: pins.change_pin(user=user, **d)),
    "reset": (PinResetForm, "reset", lambda user, d: pins.reset_pin(user=user, **d)),
}
_PIN_DONE = {
    "set": gettext_lazy("Your payment PIN is set."),
    "change": gettext_lazy("Your payment PIN was changed."),
    "reset": gettext_lazy("Your payment PIN was reset."),
}


@login_required
def wallet_pin(request):
    """One page, three forms: set (no PIN yet), change, reset with the password."""
    status = pins.get_pin_status(request.user)
    action = request.POST.get("action") if request.method == "POST" else None
    if action not in _PIN_FORMS or (action == "set") != (status is None):
        action = None
    forms = {
        name: form_class(request.POST if name == action else None, prefix=prefix)
        for name, (form_class, prefix, _call) in _PIN_FORMS.items()
    }
    if action:
        form = forms[action]
        if form.is_valid():
            try:
                _PIN_FORMS[action][2](request.user, form.cleaned_data)
            except AppError as exc:
                add_form_error(form, exc)
            else:
                messages.success(request, str(_PIN_DONE[action]))
                # Set from a payment (``?next=``): back to it.
                return redirect(next_url(request, reverse("wallet_pin")))
    now = timezone.now()
    return render(
        request,
        "payments/security/pin.html",
        {
            "status": status,
            "is_locked": bool(status and status.locked_until and status.locked_until > now),
            "set_form": forms["set"],
            "change_form": forms["change"],
            "reset_form": forms["reset"],
            "failed_action": action,
        },
    )


# --- Fingerprints ---------------------------------------------------------------------------


@login_required
def wallet_fingerprints(request):
    return render(
        request,
        "payments/security/fingerprints.html",
        {
            "credentials": webauthn.list_credentials(user=request.user),
            "name_form": FingerprintNameForm(),
        },
    )


def _json_error(exc: AppError) -> JsonResponse:
    status = exc.status_code if 400 <= exc.status_code < 500 else 400
    return JsonResponse({"ok": False, "error": str(exc.message), "code": exc.code}, status=status)


@require_POST
@login_required
def fingerprint_options(request):
    """Options for ``navigator.credentials.create`` (a new register challenge)."""
    return JsonResponse(webauthn.registration_options(user=request.user))


@require_POST
@login_required
def fingerprint_register(request):
    """Body: ``{"name": "...", "credential": credential.toJSON()}``."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _json_error(AppError(_("The request was not understood."), code="webauthn_invalid"))
    form = FingerprintNameForm({"name": body.get("name") or ""})
    name = form.cleaned_data["name"] if form.is_valid() else ""
    try:
        credential = webauthn.register_credential(
            user=request.user, response=body.get("credential"), name=name
        )
    except AppError as exc:
        return _json_error(exc)
    messages.success(request, _("Fingerprint “%(name)s” added.") % {"name": credential.name})
    return JsonResponse({"ok": True, "redirect": reverse("wallet_fingerprints")})


@require_POST
@login_required
def fingerprint_remove(request, pk: int):
    credential = WebAuthnCredential.objects.filter(pk=pk, user=request.user).first()
    if credential is None:
        raise Http404
    flash_outcome(
        request,
        lambda: webauthn.remove_credential(user=request.user, credential=credential),
        success=_("Fingerprint “%(name)s” removed.") % {"name": credential.name},
    )
    return redirect("wallet_fingerprints")


urlpatterns = [
    path("wallet/pin/", wallet_pin, name="wallet_pin"),
    path("wallet/fingerprints/", wallet_fingerprints, name="wallet_fingerprints"),
    path("wallet/fingerprints/options/", fingerprint_options, name="wallet_fingerprint_options"),
    path("wallet/fingerprints/add/", fingerprint_register, name="wallet_fingerprint_register"),
    path(
        "wallet/fingerprints/<int:pk>/remove/",
        fingerprint_remove,
        name="wallet_fingerprint_remove",
    ),
]
