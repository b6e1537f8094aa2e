from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts import views as accounts_views
from config import openapi  # noqa: F401  (registers the API token auth scheme)
from core import views as core_views

urlpatterns = [
    path("", accounts_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("bare", core_views.bare, name="bare"),
    path("bare/user", core_views.bare_user, name="bare_user"),
    path("admin/", admin.site.urls),
    # Django's set_language, plus saving a signed-in user's choice (see the view).
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    # allauth's, with Conversa's additions (docs/accounts.md); before its URLs.
    path("accounts/login/", accounts_views.login, name="account_login"),
    path(
        "accounts/password/change/",
        accounts_views.password_change,
        name="account_change_password",
    ),
    path(
        "accounts/login/unlock/<str:token>/",
        accounts_views.login_unlock,
        name="account_login_unlock",
    ),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("chats.urls")),
    path("", include("payments.urls")),
    path("", include("marketing.urls")),
    path("", include("insights.urls")),
    path("", include("webhooks.urls")),
    path("", include("privacy.urls")),
]

# allauth's rate limits render this (allauth.core.internal.ratelimit.respond_429).
handler429 = "accounts.views.too_many_requests"

if settings.SERVE_MEDIA:
    urlpatterns += [
        re_path(
            rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$",
            core_views.media,
        )
    ]
