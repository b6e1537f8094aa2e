from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import ngettext

from accounts import services, throttle
from core.mail import this_site


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """A new account keeps the language its owner signed up in; otherwise the model's
        default would switch a visitor who browsed in English to Portuguese the moment
        they are signed in."""
        language = translation.get_language()
        if language in dict(settings.LANGUAGES):
            user.language = language
        return super().save_user(request, user, form, commit=commit)

    def get_login_redirect_url(self, request) -> str:
        """After signing in or up: a merchant's team member to their businesses, anyone
        else to their own home (their chats, shops to discover); ``next`` wins."""
        if request.user.is_authenticated and request.user.memberships.exists():
            return resolve_url("dashboard_home")
        return resolve_url("home")

    def format_email_subject(self, subject) -> str:
        """ "[Conversa] …": the site's name (SITE_NAME), never the request's host."""
        return f"[{this_site().name}] {subject}"

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's mails are rendered here (in the request's language) and sent by a
        worker after the commit (``services.queue_email``): a sign-up for a new address
        and one for a taken address then cost the same, and a slow mail server slows
        no page (issue #15 item 7)."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": this_site()}
        ctx.update(context)
        services.queue_email(message=self.render_mail(template_prefix, email, ctx))

    # --- Failed sign-ins (accounts.throttle, issue #15 item 9) -------------------------

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """allauth counts failures per this key: the account *and* the address, so an
        attacker elsewhere cannot use up the owner's attempts."""
        return throttle.login_key(request, credentials.get("email", ""))

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            wait = max(throttle.retry_after(request, credentials.get("email", "")), 1)
            # The login view answers 429 with this as Retry-After.
            request.login_retry_after = wait
            minutes = max(1, -(-wait // 60))
            raise ValidationError(
                ngettext(
                    "Too many failed sign-ins to this account from your network. Try again "
                    "in %(minutes)d minute, or reset your password.",
                    "Too many failed sign-ins to this account from your network. Try again "
                    "in %(minutes)d minutes, or reset your password.",
                    minutes,
                )
                % {"minutes": minutes},
                code="too_many_login_attempts",
            ) from None

    def authentication_failed(self, request, **credentials) -> None:
        """When an account fails from many addresses, its owner gets a link that lets
        them in from their own address (at most one such e-mail an hour)."""
        email = (credentials.get("email") or "").strip().lower()
        user = services.find_user_by_email(email=email) if email else None
        if user is None or not throttle.note_failure(request, user=user):
            return
        self.send_mail(
            "accounts/email/login_unlock",
            user.email,
            {"user": user, "unlock_url": throttle.unlock_url(request, user=user)},
        )
