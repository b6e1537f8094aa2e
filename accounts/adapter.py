from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.utils import translation

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """A new account keeps the language its owner signed up in; otherwise the model's
        default would switch a visitor who browsed in English to Portuguese the moment
        they are signed in."""
        language = translation.get_language()
        if language in dict(settings.LANGUAGES):
            user.language = language
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's mails are rendered here (in the request's language) and sent by a
        worker after the commit (``services.queue_email``): a sign-up for a new address
        and one for a taken address then cost the same, and a slow mail server slows
        no page (issue #15 item 7)."""
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        services.queue_email(message=self.render_mail(template_prefix, email, ctx))
