"""Download my data: the ZIP's content against a person with every kind of data (every
file there, nothing of other people), the link for the requester only, one at a
time, a few a day, expiry; the business's contact export; a real worker."""

import datetime
import io
import json
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from chats.tests.factories import say, start_chat
from core.errors import AppError
from privacy.models import PrivacyRequest
from privacy.services import exports
from privacy.tests.conftest import EMAIL, FRIEND_EMAIL, NAME, PHONE, SHOP_TEXT
from tests.celery_fixtures import TASK_TIMEOUT, wait_for

pytestmark = pytest.mark.django_db

FILES = {
    "profile.json", "orders.csv", "payments.csv", "transfers.csv", "payouts.csv",
    "consents.json", "ratings.json", "README.txt",
}  # fmt: skip


@pytest.fixture
def export_dir(settings, tmp_path):
    settings.PRIVACY_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def stranger(business, owner):
    """Another customer of the same shop, with a chat of her own."""
    other = UserFactory(email="someone-else@example.org", display_name="Margarida Other")
    conversation = start_chat(business, other)
    say(other, conversation, "A secret of someone else")
    say(owner, conversation, "Hello Margarida")
    return other


def build(user, actor=None, business=None):
    request = exports.request_export(actor=actor or user, subject=user, business=business)
    exports.build_export(request_id=request.pk)
    request.refresh_from_db()
    return request


def read_zip(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_zip_holds_everything_about_her_and_nothing_of_others(person, stranger, export_dir):
    request = build(person.user)
    assert request.status == "ready" and request.progress == 100
    assert request.expires_at - request.completed_at == datetime.timedelta(days=7)
    files = read_zip(exports.export_path(request))
    assert set(files) >= FILES
    text = {name: data.decode() for name, data in files.items() if "/images/" not in name}
    profile = json.loads(text["profile.json"])
    assert (profile["email"], profile["name"], profile["phone"]) == (EMAIL, NAME, PHONE)
    assert {c["last4"] for c in profile["cards"]} == {"4242", "5556"}
    # Conversations: JSON and HTML for the shop chat and the direct one, with the photo.
    shop = f"conversations/{person.conversation.pk}"
    assert {f"{shop}.json", f"{shop}.html", f"conversations/{person.direct.pk}.json"} <= set(files)
    messages = json.loads(text[f"{shop}.json"])["messages"]
    assert any(SHOP_TEXT in m["text"] and m["from"] == "you" for m in messages)
    image = next(m["image"] for m in messages if m.get("image"))
    assert files[f"conversations/{image}"].startswith(b"RIFF")  # our WebP re-encoding
    assert SHOP_TEXT in text[f"{shop}.html"] and f'src="{image}"' in text[f"{shop}.html"]
    assert "Blueberry cake" in text["orders.csv"] and "45.00" in text["orders.csv"]
    assert "visa 4242" in text["payments.csv"]
    assert "sent" in text["transfers.csv"] and "received" in text["transfers.csv"]
    assert "15.00" in text["payouts.csv"]
    consents = json.loads(text["consents.json"])
    assert [(c["action"], c["source"]) for c in consents] == [
        ("given", "chat"), ("withdrawn", "keyword"),
    ]  # fmt: skip
    assert json.loads(text["ratings.json"])[0]["score"] == 5
    assert "profile.json" in text["README.txt"]
    # Nothing of other people: the other customer, the card numbers, the friend's address.
    everything = "\n".join(text.values())
    for foreign in ("someone-else@example.org", "A secret of someone else", "Margarida",
                    FRIEND_EMAIL, "4242424242424242", "tok_sandbox"):  # fmt: skip
        assert foreign not in everything


def test_the_link_is_for_the_requester_only(person, outsider, client, export_dir):
    request = build(person.user)
    url = reverse("privacy_export_download", args=[request.pk])
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("privacy_export_download", args=[10**9])).status_code == 404
    client.force_login(person.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "profile.json" in read_zip(io.BytesIO(b"".join(response.streaming_content)))


def test_one_at_a_time_and_a_few_a_day(person, settings, export_dir):
    settings.PRIVACY_EXPORTS_PER_DAY = 2
    exports.request_export(actor=person.user, subject=person.user)
    with pytest.raises(AppError) as running:
        exports.request_export(actor=person.user, subject=person.user)
    assert running.value.code == "export_running"
    exports.build_export(request_id=PrivacyRequest.objects.get().pk)
    build(person.user)
    with pytest.raises(AppError) as limited:
        exports.request_export(actor=person.user, subject=person.user)
    assert limited.value.code == "export_limit"
    assert PrivacyRequest.objects.count() == 2


def test_expired_exports_are_deleted(person, client, export_dir):
    request = build(person.user)
    path = exports.export_path(request)
    later = timezone.now() + datetime.timedelta(days=7, seconds=1)
    assert exports.expire_exports(now=later) == 1
    request.refresh_from_db()
    assert request.status == "expired" and not path.exists() and request.file_name == ""
    client.force_login(person.user)
    response = client.get(reverse("privacy_export_download", args=[request.pk]))
    assert response.status_code == 404


def test_the_page_asks_and_shows_progress(person, client, export_dir):
    client.force_login(person.user)
    response = client.post(reverse("privacy_export"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    request = PrivacyRequest.objects.get()
    page = client.get(reverse("privacy_home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="export-progress"' in page and "every 2s" in page
    exports.build_export(request_id=request.pk)
    status = client.get(reverse("privacy_export_status", args=[request.pk])).content.decode()
    assert "Download the ZIP" in status and "every 2s" not in status


def test_a_business_exports_its_contact_only_within_itself(
    person, owner, business, other, client, export_dir, agent
):
    url = reverse("privacy_contact_export", args=[business.slug, person.contact.pk])
    client.force_login(other.owner)  # another business: not found
    assert client.post(url).status_code == 404
    wrong = reverse("privacy_contact_export", args=[other.business.slug, person.contact.pk])
    assert client.post(wrong).status_code == 404
    client.force_login(agent)  # agents may not
    assert client.post(url).status_code == 404
    client.force_login(owner)
    assert client.post(url).status_code == 302
    request = PrivacyRequest.objects.get(kind="contact_export")
    exports.build_export(request_id=request.pk)
    request.refresh_from_db()
    files = read_zip(exports.export_path(request))
    assert f"conversations/{person.conversation.pk}.json" in files
    assert f"conversations/{person.direct.pk}.json" not in files  # not this business's
    assert "transfers.csv" not in files and "cards" not in json.loads(files["profile.json"])
    download = reverse("privacy_contact_export_download", args=[business.slug, request.pk])
    assert client.get(download).status_code == 200
    client.force_login(person.user)  # the contact's own export list does not have it
    assert client.get(reverse("privacy_export_download", args=[request.pk])).status_code == 404
    audit = client.get(reverse("privacy_business_audit", args=[business.slug]))
    assert audit.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_the_export(person, client, settings, tmp_path, celery_worker):
    # The worker's VAR_DIR is tmp_path/var: the same folders for both processes.
    settings.PRIVACY_EXPORT_DIR = str(tmp_path / "var" / "privacy-exports")
    client.force_login(person.user)
    client.post(reverse("privacy_export"))
    request = PrivacyRequest.objects.get()

    def ready() -> bool:
        request.refresh_from_db()
        return request.status in ("ready", "failed")

    done = wait_for(ready, TASK_TIMEOUT + 20, interval=0.5)
    log = celery_worker.read_text(errors="replace")
    assert done and request.status == "ready", log[-4000:]
    response = client.get(reverse("privacy_export_download", args=[request.pk]))
    assert set(read_zip(io.BytesIO(b"".join(response.streaming_content)))) >= FILES
