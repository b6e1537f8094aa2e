"""Deleting an account: the refusals, the confirmation, what goes and what stays, and
the proof that nothing personal is left (every text column of every model)."""

import uuid

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Q
from django.urls import reverse

from accounts.models import ApiToken, User
from chats.models import ConsentRecord, ContactNote, Message
from core import mail
from core.errors import AppError
from core.models import OutgoingEmail
from payments.gateway.sandbox import SandboxGateway
from payments.models import Card, LedgerAccount, Order, Payment, PaymentPin, WebAuthnCredential
from payments.services import payouts, reconciliation
from payments.tests.factories import PIN
from payments.tests.payout_factories import credit_wallet
from privacy.models import PrivacyRequest
from privacy.services import erasure
from privacy.tests.conftest import EMAIL, FRIEND_TEXT, NAME, PHONE

pytestmark = pytest.mark.django_db

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.EmailField)


def places_with(needle: str) -> list[str]:
    """Every (model, column) whose value contains ``needle``, case-insensitively."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            if isinstance(field, models.JSONField):
                hits = [
                    obj.pk for obj in model._base_manager.all()
                    if needle.lower() in str(getattr(obj, field.attname)).lower()
                ]  # fmt: skip
            else:
                lookup = Q(**{f"{field.attname}__icontains": needle})
                hits = list(model._base_manager.filter(lookup).values_list("pk", flat=True))
            if hits:
                found.append(f"{model._meta.label}.{field.name} {hits}")
    return found


def delete(person, **kwargs):
    kwargs.setdefault("password", "password")
    kwargs.setdefault("pin", PIN)
    return erasure.delete_account(user=person.user, **kwargs)


def test_erasure_leaves_no_personal_string_anywhere(person, django_capture_on_commit_callbacks):
    assert places_with(NAME.split()[0]) and places_with(EMAIL) and places_with(PHONE)
    assert [p for p in places_with(NAME.split()[0]) if p.startswith("webhooks.Event")]
    tokens = list(Card.objects.filter(user=person.user).values_list("token", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        request = delete(person)

    # The notice to the old address is the one trace, until it is sent.
    notice = OutgoingEmail.objects.get(dedupe_key=f"privacy:deleted:{person.user.pk}")
    assert notice.to == EMAIL and "deleted" in notice.body
    assert mail.send_email(email_id=notice.pk)
    for needle in (NAME, *NAME.split(), EMAIL, PHONE, PHONE[3:]):
        assert places_with(needle) == [], needle
    assert request.kind == "deletion" and request.status == "done"
    assert request.subject_label == erasure.pseudonym_key(person.user.pk)
    assert all(SandboxGateway().is_detached(token) for token in tokens)


def test_what_goes_and_what_stays(person, client):
    client.force_login(person.user)
    user_pk, order_pk = person.user.pk, person.order.pk
    delete(person)

    user = User.objects.get(pk=user_pk)
    assert not user.is_active and not user.has_usable_password()
    assert user.display_name == f"Deleted user {erasure.pseudonym_key(user_pk)}"
    assert not PaymentPin.objects.filter(user=user).exists()
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert not ApiToken.objects.filter(user=user).exists()
    assert not Card.objects.filter(user=user, removed_at=None).exists()
    assert client.get(reverse("privacy_home")).status_code == 302  # signed out
    # Her messages are "removed" (no text, no image); the shop's and friend's stay.
    mine = Message.objects.filter(author=user)
    assert mine.exists()
    assert set(mine.values_list("kind", "body")) == {(erasure.REMOVED_KIND, "")}
    assert not mine.exclude(image="").exists()
    assert Message.objects.filter(body=FRIEND_TEXT).exists()
    assert Message.objects.filter(body__startswith="Hi Deleted user").exists()
    assert not ContactNote.objects.filter(contact=person.contact).exists()
    # Money records stay, pointing at the pseudonym, and the books still balance.
    order = Order.objects.get(pk=order_pk)
    assert order.customer_id == user_pk and order.total == 4500
    assert Payment.objects.filter(payer_id=user_pk, status="succeeded").count() == 2
    assert ConsentRecord.objects.filter(contact=person.contact).count() == 2
    run = reconciliation.run_reconciliation()
    assert run.discrepancy_count == 0, list(run.discrepancies.values_list("detail", flat=True))


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        ("wallet", "wallet_not_empty"),
        ("order", "order_in_progress"),
        ("payout", "payout_pending"),
        ("owner", "last_owner"),
    ],
)
def test_refusals_change_nothing(person, owner, business, setup, code):
    if setup == "wallet":
        credit_wallet(person.user, 700)
    elif setup == "order":
        Order.objects.filter(pk=person.order.pk).update(status="shipped")
    elif setup == "payout":
        credit_wallet(person.user, 2000)
        payouts.request_withdrawal(
            user=person.user, destination=person.pix, amount=2000,
            idempotency_key=uuid.uuid4().hex, pin=PIN,
        )  # fmt: skip
    else:
        from accounts.tests.factories import create_business

        create_business(owner=person.user, name="Z Crafts", slug="z-crafts")
    with pytest.raises(AppError) as refused:
        delete(person)
    assert refused.value.code == code
    user = User.objects.get(pk=person.user.pk)
    assert user.email == EMAIL and user.is_active and user.display_name == NAME
    assert PaymentPin.objects.filter(user=user).exists()
    assert not PrivacyRequest.objects.filter(kind="deletion").exists()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [({"password": "wrong"}, "password_wrong"), ({"pin": "000000"}, "pin_wrong"),
     ({"pin": ""}, "pin_missing")],
)  # fmt: skip
def test_a_wrong_password_or_pin_changes_nothing(person, kwargs, code):
    with pytest.raises(AppError) as refused:
        delete(person, **kwargs)
    assert refused.value.code == code
    assert User.objects.get(pk=person.user.pk).email == EMAIL


def test_deleting_twice_is_refused_clearly(person):
    delete(person)
    user = User.objects.get(pk=person.user.pk)
    with pytest.raises(AppError) as refused:
        erasure.delete_account(user=user, password="password", pin=PIN)
    assert refused.value.code == "already_deleted"
    assert PrivacyRequest.objects.filter(kind="deletion").count() == 1


def test_the_page_explains_and_deletes(person, client):
    client.force_login(person.user)
    page = client.get(reverse("privacy_home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Delete my account" in page and "message removed" in page
    assert 'name="pin"' in page  # she has a payment PIN
    wrong = client.post(
        reverse("privacy_delete"), {"password": "nope", "pin": PIN, "confirm": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert wrong.status_code == 400 and "Wrong password." in wrong.content.decode()
    done = client.post(
        reverse("privacy_delete"), {"password": "password", "pin": PIN, "confirm": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    assert done.status_code == 200 and "Your account was deleted" in done.content.decode()
    assert not User.objects.get(pk=person.user.pk).is_active


def test_the_page_lists_refusals_before_asking(person, client):
    credit_wallet(person.user, 700)
    client.force_login(person.user)
    page = client.get(reverse("privacy_home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-code="wallet_not_empty"' in page


def test_ledger_balances_are_untouched(person):
    before = dict(LedgerAccount.objects.values_list("code", "balance"))
    delete(person)
    assert dict(LedgerAccount.objects.values_list("code", "balance")) == before
