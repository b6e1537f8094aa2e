"""Payout destinations: validation (real CPF/CNPJ/Pix samples), masking, owners only,
e-mails to all owners, scoping."""

import pytest
from django.core import mail
from django.http import Http404

from accounts.models import Membership
from accounts.tests.factories import UserFactory, join
from core.errors import AppError
from payments import selectors
from payments.models import PayoutDestination
from payments.services import destinations
from payments.tests.payout_factories import BANK, PIX_EMAIL, add_bank, add_pix, run_on_commit_tasks

pytestmark = pytest.mark.django_db

CPF, CNPJ = "529.982.247-25", "11.222.333/0001-81"


@pytest.mark.parametrize(
    ("key_type", "key", "stored"),
    [
        ("cpf", CPF, "52998224725"),
        ("cpf", "52998224725", "52998224725"),
        ("cnpj", CNPJ, "11222333000181"),
        ("email", "Loja@Example.COM", "loja@example.com"),
        ("phone", "+55 11 98765-4321", "+5511987654321"),
        ("phone", "(21) 99876-5432", "+5521998765432"),
        ("random", "123E4567-E89B-42D3-A456-426614174000", "123e4567-e89b-42d3-a456-426614174000"),
    ],
)
def test_valid_pix_keys_are_normalized(key_type, key, stored):
    assert destinations.clean_pix_key(key_type, key) == stored


@pytest.mark.parametrize(
    ("key_type", "key"),
    [
        ("cpf", "529.982.247-26"),  # wrong check digit
        ("cpf", "111.111.111-11"),  # repeated digits pass the arithmetic, not the rules
        ("cpf", "5299822472"),
        ("cnpj", "11.222.333/0001-82"),
        ("cnpj", CPF),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("phone", "+1 415 555 2671"),  # not Brazilian
        ("phone", "+55 11 3333-4444"),  # a landline cannot be a Pix key
        ("phone", "98765"),
        ("random", "123e4567e89b42d3a456426614174000"),  # not the canonical form
        ("random", "not-a-uuid"),
        ("cpf", ""),
        ("cpf", "5" * 500),
    ],
)
def test_invalid_pix_keys_are_refused(key_type, key):
    with pytest.raises(AppError) as caught:
        destinations.clean_pix_key(key_type, key)
    assert caught.value.field == "pix_key"


def test_unknown_pix_type_is_refused():
    with pytest.raises(AppError) as caught:
        destinations.clean_pix_key("iban", "x")
    assert caught.value.code == "pix_type_invalid"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bank_code": "999"}, "bank_code"),
        ({"branch": "123"}, "branch"),
        ({"branch": "12a4"}, "branch"),
        ({"branch_digit": "12"}, "branch_digit"),
        ({"account_number": ""}, "account_number"),
        ({"account_number": "0000"}, "account_number"),
        ({"account_number": "1" * 21}, "account_number"),
        ({"account_digit": ""}, "account_digit"),
        ({"account_type": "current"}, "account_type"),
        ({"holder_name": "X"}, "holder_name"),
        ({"holder_document": "529.982.247-24"}, "holder_document"),
        ({"holder_document": "11.222.333/0001-80"}, "holder_document"),
    ],
)
def test_invalid_bank_accounts_are_refused(owner, business, change, field):
    with pytest.raises(AppError) as caught:
        destinations.add_destination(
            actor=owner, business=business, kind="bank_account", data=BANK | change
        )
    assert caught.value.field == field
    assert PayoutDestination.objects.count() == 0


def test_a_bank_account_with_a_cnpj_holder(owner, business):
    destination = add_bank(owner, business, holder_document=CNPJ)
    assert destination.holder_document == "11222333000181"
    assert destination.branch == "1234" and destination.account_number == "123456"


def test_destinations_are_masked_everywhere(owner, business):
    pix = add_pix(owner, business, "cpf", CPF)
    bank = add_bank(owner, business)
    phone = add_pix(owner, business, "phone", "+55 11 98765-4321")
    email = add_pix(owner, business, "email", "loja@example.com")
    random_key = add_pix(owner, business, "random", "123e4567-e89b-42d3-a456-426614174000")
    assert str(pix) == "Pix CPF •••.982.247-••"
    assert str(bank) == "Itaú Unibanco (341) · checking •••456-7"
    assert "52998224725" not in bank.holder_masked() and bank.holder_masked() == "•••.982.247-••"
    assert str(phone) == "Pix Phone +55 11 •••••-4321"
    assert str(email) == "Pix E-mail l•••@example.com"
    assert "426614174000" not in str(random_key) and str(random_key).endswith("4000")
    assert repr(pix).count("52998224725") == 0


def test_first_destination_is_default_and_default_moves(owner, business):
    first = add_pix(owner, business)
    second = add_bank(owner, business)
    assert first.is_default and not second.is_default
    destinations.set_default_destination(actor=owner, business=business, destination=second)
    first.refresh_from_db()
    assert not first.is_default
    destinations.remove_destination(actor=owner, business=business, destination=second)
    first.refresh_from_db()
    assert first.is_default
    assert list(selectors.list_destinations(business=business)) == [first]


def test_only_owners_manage_business_destinations(owner, admin, agent, outsider, business, other):
    for someone in (admin, agent, outsider, other.owner):
        with pytest.raises(AppError) as caught:
            add_pix(someone, business)
        assert caught.value.code == "forbidden"
    destination = add_pix(owner, business)
    for someone in (admin, other.owner):
        with pytest.raises(AppError):
            destinations.remove_destination(
                actor=someone, business=business, destination=destination
            )
    # Another business's destination cannot be acted on through this one.
    with pytest.raises(AppError) as caught:
        destinations.remove_destination(
            actor=other.owner, business=other.business, destination=destination
        )
    assert caught.value.code == "not_found"
    destination.refresh_from_db()
    assert destination.removed_at is None


def test_outsiders_get_not_found_from_the_selector(owner, business, other, customer):
    destination = add_pix(owner, business)
    mine = add_pix(customer, None, "email", "carla@example.com")
    with pytest.raises(Http404):
        selectors.get_destination_for(
            destination_id=destination.pk, business=other.business, user=other.owner
        )
    with pytest.raises(Http404):
        selectors.get_destination_for(destination_id=destination.pk, user=customer)
    with pytest.raises(Http404):
        selectors.get_destination_for(destination_id=mine.pk, user=owner)
    with pytest.raises(Http404):
        selectors.get_destination_for(destination_id="1e99", user=owner)
    assert selectors.get_destination_for(destination_id=mine.pk, user=customer) == mine


def test_every_change_emails_all_owners(
    owner, admin, business, monkeypatch, django_capture_on_commit_callbacks
):
    second_owner = join(
        business=business, role=Membership.Role.OWNER, user=UserFactory(email="o2@example.com")
    ).user
    with run_on_commit_tasks(monkeypatch, django_capture_on_commit_callbacks):
        destination = add_pix(owner, business, "cpf", CPF)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, second_owner.email])
    assert all("•••.982.247-••" in m.body and "52998224725" not in m.body for m in mail.outbox)
    assert "Padaria Central" in mail.outbox[0].subject
    mail.outbox.clear()
    with run_on_commit_tasks(monkeypatch, django_capture_on_commit_callbacks):
        destinations.change_destination(
            actor=owner,
            business=business,
            destination=destination,
            data={"pix_key_type": "email", "pix_key": "caixa@padaria.example"},
        )
        destinations.remove_destination(actor=owner, business=business, destination=destination)
    assert len(mail.outbox) == 4
    assert "Removed" in mail.outbox[-1].body


def test_a_destination_email_is_not_lost_with_its_task(
    owner, business, django_capture_on_commit_callbacks
):
    """The e-mail is a row written with the change: when the task that would send it
    is lost (a Redis restart, a killed worker), the beat's sweep sends it, once."""
    from core.mail import send_due_emails

    # Given a change whose after-commit task never runs
    with django_capture_on_commit_callbacks(execute=False):
        add_pix(owner, business, "cpf", CPF)
    assert mail.outbox == []
    # When the beat's sweep runs, twice
    assert send_due_emails() == 1
    assert send_due_emails() == 0
    # Then the owner got the notice once
    (notice,) = mail.outbox
    assert notice.to == [owner.email] and "•••.982.247-••" in notice.body


def test_customers_keep_their_own_destinations(customer, business, owner):
    mine = add_pix(customer, None, "email", "carla@example.com")
    assert mine.user == customer and mine.business is None and mine.is_default
    assert list(selectors.list_destinations(user=customer)) == [mine]
    assert list(selectors.list_destinations(business=business)) == []
    with pytest.raises(AppError) as caught:
        destinations.remove_destination(actor=owner, destination=mine)
    assert caught.value.code == "not_found"


def test_change_is_validated_like_a_new_one(owner, business):
    destination = add_pix(owner, business, "email", PIX_EMAIL)
    with pytest.raises(AppError):
        destinations.change_destination(
            actor=owner,
            business=business,
            destination=destination,
            data={"pix_key_type": "cpf", "pix_key": "123"},
        )
    destination.refresh_from_db()
    assert destination.pix_key == PIX_EMAIL
