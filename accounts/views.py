"""HTML views for accounts, businesses and teams: parse, authorize, call one
service, render. Permission checks go through ``selectors.get_business_for``."""

import datetime
from copy import copy

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import i18n as i18n_views
from django.views.decorators.http import require_POST

from accounts import selectors, services, throttle
from accounts.forms import (
    ApiTokenForm,
    BusinessCreateForm,
    BusinessProfileForm,
    DirectoryFilterForm,
    InviteForm,
    LogoForm,
    OpeningHoursForm,
    RoleForm,
    UserProfileForm,
)
from accounts.models import Business, Membership, OpeningHours
from core.errors import AppError, add_form_error
from core.flash import flash_outcome

ROLE = Membership.Role


# --- Public pages -------------------------------------------------------------------


def home(request):
    """The landing page, with a few shops from the directory; signed in, the user's
    own home first (their chats: the panels other apps put in the ``home.panels``
    slot, ``core.slots``)."""
    context = {"featured": selectors.list_public_businesses()[:6]}
    if request.user.is_authenticated:
        context["is_member"] = request.user.memberships.exists()
    return render(request, "core/home.html", context)


def business_directory(request):
    form = DirectoryFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    businesses = selectors.list_public_businesses(
        q=filters.get("q", ""), city=filters.get("city", ""), category=filters.get("category", "")
    )
    page = Paginator(businesses, 24).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/directory.html",
        {"form": form, "page": page, "cities": selectors.list_public_cities()},
    )


def profile_context(request, business: Business, *, now: datetime.datetime | None = None) -> dict:
    """What the public profile template needs at ``now`` (default: now); the shop
    page (catalog app) adds the catalog to it."""
    hours = list(business.hours.all())
    now = now or timezone.now()
    return {
        "business": business,
        "hours": hours,
        "week": _week(hours),
        "today": now.astimezone(business.tz).weekday(),
        "is_open": business.is_open_at(now, hours),
        "ld": _local_business_ld(request, business, hours),
    }


def _week(hours):
    by_day = {h.weekday: h for h in hours}
    return [(day, label, by_day.get(day)) for day, label in OpeningHours.Weekday.choices]


_SCHEMA_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _local_business_ld(request, business: Business, hours) -> dict:
    """schema.org LocalBusiness for search engines."""
    ld = {
        "@context": "https://schema.org",
        "@type": "LocalBusiness",
        "name": business.name,
        "url": request.build_absolute_uri(business.get_absolute_url()),
        "description": business.description or business.about,
        "address": {
            "@type": "PostalAddress",
            "streetAddress": business.address,
            "addressLocality": business.city,
            "addressCountry": business.country,
        },
        "openingHoursSpecification": [
            {
                "@type": "OpeningHoursSpecification",
                "dayOfWeek": f"https://schema.org/{_SCHEMA_DAYS[h.weekday]}",
                "opens": h.opens.strftime("%H:%M"),
                "closes": h.closes.strftime("%H:%M"),
            }
            for h in hours
        ],
        "currenciesAccepted": business.currency,
    }
    if business.logo:
        ld["image"] = ld["logo"] = request.build_absolute_uri(business.logo.url)
    if business.phone:
        ld["telephone"] = business.phone
    if business.email:
        ld["email"] = business.email
    links = [u for u in (business.website, business.store_url) if u]
    if links:
        ld["sameAs"] = links
    return ld


# --- Account ----------------------------------------------------------------------


@login_required
def account_profile(request):
    form = UserProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user_profile(user=request.user, **form.cleaned_data)
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Your profile was saved."))
            return redirect("account_profile")
    return render(request, "accounts/account_profile.html", {"form": form})


@require_POST
def set_language(request):
    """The footer's language switcher. Django's view validates the language and the
    ``next`` address and sets the cookie; a signed-in user's choice is also saved to
    their profile, which ``UserLanguageMiddleware`` puts before the cookie."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and language in dict(settings.LANGUAGES) and language != user.language:
        try:
            services.update_user_profile(
                user=user, display_name=user.display_name, phone=user.phone, language=language
            )
        except AppError as exc:
            messages.error(request, exc.message)
    return response


@login_required
def api_tokens(request):
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_token = services.create_api_token(
                user=request.user,
                name=form.cleaned_data["name"],
                lifetime_days=form.cleaned_data["lifetime"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Token created. Copy it now: it will not be shown again."))
            if token.expires_at is None:
                messages.warning(
                    request,
                    _(
                        "This token never expires. Revoke it here as soon as it is no "
                        "longer needed or may have leaked."
                    ),
                )
            form = ApiTokenForm()
    return render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": selectors.list_tokens(user=request.user), "new_token": new_token},
    )


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    token = selectors.get_token_for(user=request.user, token_id=token_id)
    services.revoke_api_token(user=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens")


# --- Sign-in throttle (accounts.throttle) ---------------------------------------------


class LoginView(allauth_views.LoginView):
    """allauth's sign-in page, answering 429 with ``Retry-After`` (and the page with
    the reason) when this address has used up its attempts for the account."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        wait = getattr(self.request, "login_retry_after", None)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response


login = LoginView.as_view()


class PasswordChangeView(allauth_views.PasswordChangeView):
    """allauth's password change, saying how many API tokens it revoked."""

    def form_valid(self, form):
        response = super().form_valid(form)
        revoked = getattr(form, "revoked_tokens", 0)
        if revoked:
            messages.info(
                self.request,
                ngettext(
                    "%(count)d API token was revoked.",
                    "%(count)d API tokens were revoked.",
                    revoked,
                )
                % {"count": revoked},
            )
        return response


password_change = PasswordChangeView.as_view()


def login_unlock(request, token: str):
    """The link in the "someone is trying to sign in" e-mail: clears the failed
    sign-ins to that account counted against the address that opens it."""
    user = throttle.user_from_unlock_token(token)
    if user is None:
        messages.error(
            request,
            _(
                "This unlock link is invalid or has expired. You can still reset your "
                "password to sign in."
            ),
        )
        return redirect("account_reset_password")
    for address in user.emailaddress_set.all():
        throttle.clear(request, address.email)
    throttle.clear(request, user.email)
    messages.success(request, _("Sign-in unlocked for this network. You can sign in now."))
    return redirect("account_login")


def too_many_requests(request, exception=None) -> HttpResponse:
    """429 in the site's layout (allauth's rate limits answer with it)."""
    response = render(request, "429.html", status=429)
    response["Retry-After"] = "60"
    return response


# --- Dashboard --------------------------------------------------------------------


def render_dashboard(request, business: Business, section: str, template: str, context: dict):
    """Render a page of the merchant dashboard: the shell (navigation, business
    switcher) around ``template``. ``business`` comes from ``get_business_for``."""
    context |= {
        "business": business,
        "membership": business.membership,
        "section": section,
        "memberships": selectors.list_memberships_for(user=request.user),
    }
    return render(request, template, context)


@login_required
def dashboard_home(request):
    memberships = list(selectors.list_memberships_for(user=request.user))
    if len(memberships) == 1:
        return redirect("dashboard", slug=memberships[0].business.slug)
    return render(request, "accounts/dashboard_home.html", {"memberships": memberships})


@login_required
def dashboard_switch(request):
    slug = request.GET.get("business", "")
    business = selectors.get_business_for(user=request.user, slug=slug)
    return redirect("dashboard", slug=business.slug)


@login_required
def business_create(request):
    form = BusinessCreateForm(request.POST or None)
    form.fields["slug"].required = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            business = services.create_business(
                user=request.user,
                name=data["name"],
                slug=data["slug"],
                category=data["category"],
                city=data["city"],
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” is ready. Complete its profile below.") % {"name": business.name},
            )
            return redirect("business_settings", slug=business.slug)
    return render(request, "accounts/business_create.html", {"form": form})


@login_required
def dashboard(request, slug: str):
    business = selectors.get_business_for(user=request.user, slug=slug)
    return render_dashboard(
        request,
        business,
        "overview",
        "accounts/dashboard.html",
        {"has_hours": business.hours.exists()},
    )


@login_required
def business_settings(request, slug: str):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    # A ModelForm writes the submitted values onto its instance while validating: give
    # it a copy, so a rejected slug or name never reaches the page's links and header.
    form = BusinessProfileForm(request.POST or None, instance=copy(business), prefix="profile")
    if request.method == "POST" and form.is_valid():
        try:
            business = services.update_business_profile(
                actor=request.user, business=business, **form.cleaned_data
            )
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("business_settings", slug=business.slug)
    return _business_settings_page(request, business, profile_form=form)


def _business_settings_page(
    request, business, *, profile_form=None, logo_form=None, hours_form=None, status=200
):
    hours = list(business.hours.all())
    response = render_dashboard(
        request,
        business,
        "settings",
        "accounts/business_settings.html",
        {
            "profile_form": profile_form
            or BusinessProfileForm(instance=business, prefix="profile"),
            "logo_form": logo_form or LogoForm(),
            "hours_form": hours_form or OpeningHoursForm(hours=hours, prefix="hours"),
        },
    )
    response.status_code = status
    return response


@login_required
@require_POST
def business_logo(request, slug: str):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    if request.POST.get("remove"):
        services.remove_business_logo(actor=request.user, business=business)
        messages.success(request, _("Logo removed."))
        return redirect("business_settings", slug=slug)
    return _save_settings_form(
        request,
        business,
        logo_form=LogoForm(request.POST, request.FILES),
        save=lambda data: services.set_business_logo(
            actor=request.user, business=business, upload=data["logo"]
        ),
        done=_("Logo updated."),
    )


@login_required
@require_POST
def business_hours(request, slug: str):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    return _save_settings_form(
        request,
        business,
        hours_form=OpeningHoursForm(request.POST, prefix="hours"),
        save=lambda data: services.set_opening_hours(
            actor=request.user, business=business, hours=data["intervals"]
        ),
        done=_("Opening hours saved."),
    )


def _save_settings_form(request, business, *, save, done: str, **posted):
    """The settings page's logo or hours form (``posted``: its name in the page, the
    form): ``save(cleaned_data)`` through a service, flash ``done`` and back to the
    page; invalid input or an AppError shows the page again with the form, a 400."""
    [form] = posted.values()
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except AppError as exc:
            add_form_error(form, exc)
        else:
            messages.success(request, done)
            return redirect("business_settings", slug=business.slug)
    return _business_settings_page(request, business, status=400, **posted)


@login_required
def team(request, slug: str):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.ADMIN)
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
        if form.is_valid():
            try:
                invitation, _key = services.invite_member(
                    actor=request.user, business=business, **form.cleaned_data
                )
            except AppError as exc:
                add_form_error(form, exc)
            else:
                messages.success(
                    request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
                )
                return redirect("team", slug=slug)
    return render_dashboard(
        request,
        business,
        "team",
        "accounts/team.html",
        {
            "invite_form": form,
            "members": selectors.list_members(business=business),
            "invitations": selectors.list_pending_invitations(business=business),
            "roles": ROLE.choices,
            "is_owner": business.membership.role == ROLE.OWNER,
        },
    )


@login_required
@require_POST
def member_role(request, slug: str, membership_id: int):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
    membership = selectors.get_membership_for(business=business, membership_id=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("team", slug=slug)
    role = form.cleaned_data["role"]
    flash_outcome(
        request,
        lambda: services.change_member_role(actor=request.user, membership=membership, role=role),
        success=_("%(user)s is now %(role)s.")
        % {"user": membership.user, "role": ROLE(role).label},
    )
    return redirect("team", slug=slug)


@login_required
@require_POST
def member_remove(request, slug: str, membership_id: int):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
    membership = selectors.get_membership_for(business=business, membership_id=membership_id)
    removed = flash_outcome(
        request,
        lambda: services.remove_member(actor=request.user, membership=membership),
        success=_("%(user)s was removed from the team.") % {"user": membership.user},
    )
    if removed and membership.user_id == request.user.pk:
        return redirect("dashboard_home")
    return redirect("team", slug=slug)


@login_required
@require_POST
def invitation_revoke(request, slug: str, invitation_id: int):
    business = selectors.get_business_for(user=request.user, slug=slug, min_role=ROLE.OWNER)
    invitation = selectors.get_invitation_for(business=business, invitation_id=invitation_id)
    flash_outcome(
        request,
        lambda: services.revoke_invitation(actor=request.user, invitation=invitation),
        success=_("Invitation to %(email)s withdrawn.") % {"email": invitation.email},
    )
    return redirect("team", slug=slug)


def invitation_accept(request, key: str):
    """The link in the invitation e-mail. Signed-out visitors sign in or sign up first
    and come back here (``next``)."""
    invitation = selectors.get_invitation_by_key(key=key)
    error = None
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.accept_invitation(user=request.user, key=key)
        except AppError as exc:
            error = str(exc.message)
        else:
            messages.success(
                request, _("Welcome to %(business)s!") % {"business": membership.business.name}
            )
            return redirect("dashboard", slug=membership.business.slug)
    return render(
        request,
        "accounts/invitation.html",
        {"invitation": invitation, "error": error, "key": key},
        status=400 if error else 200,
    )
