from django.utils import translation


class UserLanguageMiddleware:
    """Use the signed-in user's preferred language over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        activate_user_language(request, getattr(request, "user", None))
        return self.get_response(request)


def activate_user_language(request, user) -> None:
    """The one rule: a signed-in user's preferred language wins over the browser's.
    Also called by API token authentication, which knows the user only later."""
    if user is not None and user.is_authenticated and user.language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = translation.get_language()
