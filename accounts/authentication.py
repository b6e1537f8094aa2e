from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts import services
from accounts.middleware import activate_user_language
from core.errors import AppError


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer cv_…`` (or ``Token cv_…``) with a personal API token."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        raw = header[1].decode(errors="replace")
        try:
            token = services.authenticate_api_token(raw=raw)
        except AppError as exc:  # expired: say so, with a 401 like any refused token
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from None
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        activate_user_language(request._request, token.user)
        return token.user, token

    def authenticate_header(self, request):
        return "Bearer"
