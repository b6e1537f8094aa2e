import pytest
from django.test import RequestFactory

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
