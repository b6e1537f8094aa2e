import pytest
from django.test import Client, RequestFactory

from core.http import next_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/dashboard/x/catalog/?page=2", "/dashboard/x/catalog/?page=2"),
        ("", "/home/"),
        ("-1", "/home/"),  # redirect() would look it up as a view name: a server error
        ("catalog_products", "/home/"),
        ("//evil.example/", "/home/"),
        ("https://evil.example/", "/home/"),
        ("javascript:alert(1)", "/home/"),
        ("/\\evil.example", "/home/"),
    ],
)
def test_next_is_a_path_on_this_site_or_the_default(given, expected):
    request = RequestFactory().post("/", {"next": given})
    assert next_url(request, "/home/") == expected


def test_a_nul_in_an_admin_query_string_is_a_clear_400(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/payments/order/?status=%00")
    assert page.status_code == 400
    assert "(NUL)" in page.content.decode()  # in the operator's language
    assert client.get("/admin/payments/order/?status=paid").status_code == 200


def test_a_missing_page_is_the_sites_own_404(client):
    page = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 404
    body = page.content.decode()
    assert "Page not found" in body and 'href="/"' in body


def test_an_expired_form_says_so(owner):
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(owner)
    page = client.post("/i18n/setlang/", {"language": "en"})
    assert page.status_code == 403
    assert "This form has expired" in page.content.decode()


@pytest.mark.asyncio
async def test_an_upload_is_served_whole_under_asgi_without_a_streaming_warning(settings, recwarn):
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "logo.webp").write_bytes(b"RIFF0000WEBP" + b"x" * 5000)
    from django.test import AsyncClient

    response = await AsyncClient().get("/media/logo.webp")

    assert response.status_code == 200 and not response.streaming
    assert response.content.startswith(b"RIFF") and response["Content-Length"] == "5012"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]
    again = await AsyncClient().get(
        "/media/logo.webp", headers={"If-Modified-Since": response["Last-Modified"]}
    )
    assert again.status_code == 304


@pytest.mark.django_db
def test_the_development_server_sends_a_loopback_address_to_the_sites_host(settings):
    # make run prints http://localhost:PORT/; someone opens http://127.0.0.1:PORT/ instead
    settings.SITE_URL = "http://localhost:8101"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
    for host in ("127.0.0.1:8101", "[::1]:8101"):
        response = Client().get("/s/?q=p%C3%A3o", HTTP_HOST=host)
        assert response.status_code == 302
        assert response["Location"] == "http://localhost:8101/s/?q=p%C3%A3o"
    assert Client().get("/s/", HTTP_HOST="localhost:8101").status_code == 200
    # a form posted to the loopback address is not bounced (it would lose its body)
    assert Client().post("/s/", HTTP_HOST="127.0.0.1:8101").status_code != 302


@pytest.mark.asyncio
async def test_a_static_file_is_served_whole_under_asgi_without_a_streaming_warning(recwarn):
    from django.test import AsyncClient

    response = await AsyncClient().get("/static/js/app.js")

    assert response.status_code == 200 and not response.streaming
    assert response["Content-Length"] == str(len(response.content)) != "0"
    assert response["Content-Type"].startswith("text/javascript")
    assert not [w for w in recwarn if "synchronous iterators" in str(w.message)]
    again = await AsyncClient().get(
        "/static/js/app.js", headers={"If-None-Match": response["ETag"]}
    )
    assert again.status_code == 304 and not again.content
