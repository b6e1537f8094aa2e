"""Every account e-mail names the site (SITE_NAME), never the host and port the
request came in at ("Hello from 127.0.0.1:8101!")."""

import pytest
from django.urls import reverse

from core.models import OutgoingEmail

PASSWORD = "a-long-Passphrase-42"


@pytest.mark.django_db
@pytest.mark.parametrize("site_name", ["Conversa", "Loja da Ana"])
def test_the_sign_up_mail_names_the_site_not_the_host(client, settings, site_name):
    settings.ACCOUNT_RATE_LIMITS = False
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SITE_NAME = site_name

    client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST="127.0.0.1:8101",
    )

    mail = OutgoingEmail.objects.get(to="new@example.com")
    greeting = mail.body.splitlines()[0]
    assert site_name in greeting and "127.0.0.1" not in greeting
    assert mail.subject.startswith(f"[{site_name}] ")
