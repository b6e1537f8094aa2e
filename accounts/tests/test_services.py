import datetime
import hashlib
import io
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone, translation
from PIL import ExifTags, Image

from accounts import services
from accounts.models import ApiToken, Business, Invitation, Membership, OpeningHours
from accounts.tests.factories import UserFactory, create_business, join
from core.errors import AppError
from core.tests.uploads import (
    HTML_BYTES,
    PDF_BYTES,
    image_bytes,
    jpeg_with_gps,
    png_bomb,
    png_upload,
    truncated_png,
    upload,
)

ROLE = Membership.Role
T = datetime.time


def _snapshot(business: Business) -> dict:
    """Every column of the business as stored now."""
    return Business.objects.filter(pk=business.pk).values().get()


# --- Users --------------------------------------------------------------------------


def test_update_user_profile_saves_the_fields(db):
    user = UserFactory()

    services.update_user_profile(
        user=user, display_name="Ana", phone="+5511987654321", language="pt-br"
    )

    user.refresh_from_db()
    assert (user.display_name, user.phone, user.language) == ("Ana", "+5511987654321", "pt-br")


@pytest.mark.parametrize(
    ("field", "value"),
    [("display_name", "<b>Ana</b>"), ("phone", "12345"), ("language", "xx")],
)
def test_update_user_profile_refuses_bad_input_and_changes_nothing(db, field, value):
    user = UserFactory(display_name="Ana")
    data = {"display_name": "Ana", "phone": "", "language": "en"} | {field: value}

    with pytest.raises(AppError) as exc:
        services.update_user_profile(user=user, **data)

    assert exc.value.field == field
    user.refresh_from_db()
    assert (user.display_name, user.phone, user.language) == ("Ana", "", "en")


# --- create_business -----------------------------------------------------------------


def test_create_business_makes_the_creator_its_owner(db):
    user = UserFactory()

    business = services.create_business(user=user, name="Café Açaí", slug="", city="Recife")

    assert business.slug == "cafe-acai"
    assert business.city == "Recife"
    assert business.fee_bps == 399
    membership = Membership.objects.get(business=business)
    assert (membership.user, membership.role) == (user, ROLE.OWNER)


def test_blank_slug_is_generated_unique(db):
    user = UserFactory()
    first = services.create_business(user=user, name="Padaria", slug="")

    second = services.create_business(user=user, name="Padaria", slug="")
    third = services.create_business(user=user, name="Padaria!", slug="")

    assert [first.slug, second.slug, third.slug] == ["padaria", "padaria-2", "padaria-3"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("My_Shop", "my-shop"), ("a__b - c", "a-b-c"), ("!!!", "shop"), ("x" * 80, "x" * 40)],
)
def test_generated_slug_is_always_a_valid_address(db, name, slug):
    business = services.create_business(user=UserFactory(), name=name, slug="")

    assert business.slug == slug


@pytest.mark.parametrize("name", ["New", "Switch"])
def test_generated_slug_avoids_the_dashboard_own_addresses(db, name):
    # /dashboard/new/ and /dashboard/switch/ are pages of their own.
    business = services.create_business(user=UserFactory(), name=name, slug="")

    assert business.slug == f"{name.lower()}-2"


@pytest.mark.parametrize("slug", ["padaria", "new", "switch"])
def test_taken_or_reserved_slug_is_refused(db, slug):
    create_business(slug="padaria")
    counts = (Business.objects.count(), Membership.objects.count())

    with translation.override("en"), pytest.raises(AppError) as exc:
        services.create_business(user=UserFactory(), name="Another", slug=slug)

    assert (exc.value.code, exc.value.field) == ("slug_taken", "slug")
    assert "taken" in str(exc.value)
    assert (Business.objects.count(), Membership.objects.count()) == counts


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "<script>alert(1)</script>"),
        ("name", ""),
        ("slug", "Not A Slug"),
        ("slug", "double--hyphen"),
        ("city", "<img src=x onerror=alert(1)>"),
        ("about", "javascript:alert(1)"),
        ("website", "javascript:alert(1)"),
        ("website", "ftp://example.com/"),
        ("timezone", "Mars/Olympus"),
        ("country", "Brazil"),
    ],
)
def test_create_business_refuses_bad_input_and_creates_nothing(db, field, value):
    data = {"name": "Fine name", "slug": "fine-slug"} | {field: value}

    with pytest.raises(AppError) as exc:
        services.create_business(user=UserFactory(), **data)

    assert exc.value.field == field
    assert not Business.objects.exists()
    assert not Membership.objects.exists()


def test_create_business_does_not_take_the_fee(db):
    with pytest.raises(TypeError):
        services.create_business(user=UserFactory(), name="Shop", slug="", fee_bps=0)


# --- update_business_profile --------------------------------------------------------


def test_admin_updates_the_profile(business, admin):
    updated = services.update_business_profile(
        actor=admin,
        business=business,
        about="Pão quente toda hora",
        website="https://padaria.example/",
        phone="+5511987654321",
        slug="padaria-nova",
    )

    business.refresh_from_db()
    assert business.about == "Pão quente toda hora"
    assert business.website == "https://padaria.example/"
    assert business.slug == updated.slug == "padaria-nova"


@pytest.mark.parametrize("who", ["agent", "outsider", "other_owner"])
def test_only_admins_of_the_business_update_it(business, agent, outsider, other, who):
    actor = {"agent": agent, "outsider": outsider, "other_owner": other.owner}[who]
    before = _snapshot(business)

    with pytest.raises(AppError) as exc:
        services.update_business_profile(actor=actor, business=business, name="Hacked")

    assert exc.value.code == "forbidden"
    assert _snapshot(business) == before


def test_the_fee_is_not_a_profile_field(business, owner):
    with pytest.raises(TypeError):
        services.update_business_profile(actor=owner, business=business, fee_bps=0)

    business.refresh_from_db()
    assert business.fee_bps == 399


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("website", "javascript:alert(1)"),
        ("store_url", "JavaScript:alert(document.cookie)"),
        ("website", "ftp://files.example.com/"),
        ("store_url", "data:text/html,<script>alert(1)</script>"),
        ("name", "<b>Bold</b>"),
        ("about", "<a href='x'>click</a>"),
        ("description", "Hi <script>alert(1)</script>"),
        ("address", "<iframe src=//evil>"),
        ("city", "<!-- x -->"),
        ("email", "not-an-email"),
        ("phone", "+55 11 98765-4321"),
        ("slug", "UPPER"),
    ],
)
def test_bad_profile_input_is_refused_and_changes_nothing(business, owner, field, value):
    before = _snapshot(business)

    with pytest.raises(AppError) as exc:
        services.update_business_profile(actor=owner, business=business, **{field: value})

    assert exc.value.field == field
    assert exc.value.code == "invalid"
    assert _snapshot(business) == before


def test_another_business_slug_is_refused(business, owner, other):
    before = _snapshot(business)

    with pytest.raises(AppError) as exc:
        services.update_business_profile(actor=owner, business=business, slug="loja-vizinha")

    assert exc.value.code == "slug_taken"
    assert _snapshot(business) == before


# --- Logo ---------------------------------------------------------------------------


def _open(field) -> Image.Image:
    field.open("rb")
    try:
        return Image.open(io.BytesIO(field.read()))
    finally:
        field.close()


def test_logo_is_re_encoded_with_a_square_thumbnail(business, admin):
    updated = services.set_business_logo(
        actor=admin, business=business, upload=png_upload((2000, 1000), name="logo.png")
    )

    business.refresh_from_db()
    assert business.logo.name == updated.logo.name
    assert business.logo.name.startswith("logos/")
    assert business.logo.name.endswith(".webp")
    logo, thumb = _open(business.logo), _open(business.logo_thumb)
    assert (logo.format, logo.size) == ("WEBP", (1024, 512))
    assert (thumb.format, thumb.size) == ("WEBP", (256, 256))


def test_logo_loses_its_gps_position(business, owner):
    services.set_business_logo(
        actor=owner,
        business=business,
        upload=upload(jpeg_with_gps(), "photo.jpg", "image/jpeg"),
    )

    business.refresh_from_db()
    for field in (business.logo, business.logo_thumb):
        img = _open(field)
        assert not img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not img.getexif()
        assert "exif" not in img.info


def test_replacing_the_logo_deletes_the_old_files_after_commit(
    business, owner, django_capture_on_commit_callbacks
):
    first = services.set_business_logo(actor=owner, business=business, upload=png_upload())
    old = [first.logo.name, first.logo_thumb.name]
    storage = first.logo.storage

    with django_capture_on_commit_callbacks() as callbacks:
        second = services.set_business_logo(actor=owner, business=business, upload=png_upload())
        # Still there until the new names are committed.
        assert all(storage.exists(name) for name in old)
    for callback in callbacks:
        callback()

    assert not any(storage.exists(name) for name in old)
    assert storage.exists(second.logo.name)
    assert storage.exists(second.logo_thumb.name)


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"hello, not an image", "logo.png", "image_invalid"),
        (PDF_BYTES, "logo.jpg", "image_invalid"),
        (HTML_BYTES, "logo.png", "image_invalid"),
        (truncated_png(), "logo.png", "image_invalid"),
        (b"\0" * (5 * 1024 * 1024 + 1), "huge.png", "image_too_large"),
        (image_bytes("PNG", (4097, 1), mode="1"), "wide.png", "image_dimensions"),
        (png_bomb(), "bomb.png", "image_dimensions"),
    ],
    ids=["text", "pdf-as-jpg", "html-as-png", "truncated", "over-5mb", "over-4096px", "bomb"],
)
def test_a_bad_logo_is_refused_and_the_old_one_kept(business, owner, data, name, code):
    # given a business with a logo
    services.set_business_logo(actor=owner, business=business, upload=png_upload())
    before = _snapshot(business)
    business.refresh_from_db()
    storage = business.logo.storage
    kept = {n: storage.open(n).read() for n in (business.logo.name, business.logo_thumb.name)}

    # when a bad file is uploaded
    with pytest.raises(AppError) as exc:
        services.set_business_logo(actor=owner, business=business, upload=upload(data, name))

    # then it says why, and nothing changed: row and files
    assert exc.value.code == code
    assert _snapshot(business) == before
    assert {n: storage.open(n).read() for n in kept} == kept
    assert sorted(storage.listdir("logos")[1]) == sorted(
        n.removeprefix("logos/") for n in kept if n.count("/") == 1
    )


def test_agent_cannot_set_or_remove_the_logo(business, agent):
    with pytest.raises(AppError):
        services.set_business_logo(actor=agent, business=business, upload=png_upload())
    with pytest.raises(AppError):
        services.remove_business_logo(actor=agent, business=business)

    business.refresh_from_db()
    assert not business.logo


def test_remove_logo_clears_it_and_deletes_the_files_after_commit(
    business, admin, django_capture_on_commit_callbacks
):
    with_logo = services.set_business_logo(actor=admin, business=business, upload=png_upload())
    names, storage = [with_logo.logo.name, with_logo.logo_thumb.name], with_logo.logo.storage

    with django_capture_on_commit_callbacks(execute=True):
        services.remove_business_logo(actor=admin, business=business)

    business.refresh_from_db()
    assert not business.logo
    assert not business.logo_thumb
    assert not any(storage.exists(n) for n in names)


def test_remove_logo_without_a_logo_is_harmless(business, owner):
    services.remove_business_logo(actor=owner, business=business)

    business.refresh_from_db()
    assert not business.logo


# --- Opening hours --------------------------------------------------------------------


def _hours(business) -> list[tuple]:
    return list(
        OpeningHours.objects.filter(business=business).values_list("weekday", "opens", "closes")
    )


def test_set_opening_hours_replaces_the_week(business, admin):
    services.set_opening_hours(
        actor=admin, business=business, hours=[(0, T(9), T(18)), (1, T(9), T(18))]
    )

    services.set_opening_hours(
        actor=admin, business=business, hours=[(4, T(18), T(2)), (6, T(0), T(0))]
    )

    assert _hours(business) == [(4, T(18), T(2)), (6, T(0), T(0))]


def test_set_opening_hours_with_nothing_closes_every_day(business, owner):
    services.set_opening_hours(actor=owner, business=business, hours=[(0, T(9), T(18))])

    services.set_opening_hours(actor=owner, business=business, hours=[])

    assert _hours(business) == []


@pytest.mark.parametrize(
    ("hours", "code"),
    [
        ([(0, T(9), T(12)), (0, T(14), T(18))], "duplicate_weekday"),
        ([(7, T(9), T(18))], "invalid_weekday"),
        ([(-1, T(9), T(18))], "invalid_weekday"),
    ],
)
def test_bad_hours_are_refused_and_change_nothing(business, owner, hours, code):
    services.set_opening_hours(actor=owner, business=business, hours=[(2, T(8), T(17))])

    with pytest.raises(AppError) as exc:
        services.set_opening_hours(actor=owner, business=business, hours=hours)

    assert exc.value.code == code
    assert _hours(business) == [(2, T(8), T(17))]


def test_agent_cannot_set_hours(business, agent):
    with pytest.raises(AppError) as exc:
        services.set_opening_hours(actor=agent, business=business, hours=[(0, T(9), T(18))])

    assert exc.value.status_code == 403
    assert _hours(business) == []


# --- Business.is_open_at ----------------------------------------------------------------

# 2026-11-23 is a Monday. São Paulo is UTC−3 all year.
WEEK = [(0, T(9), T(18)), (4, T(18), T(2)), (6, T(0), T(0))]


def _utc(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, minute, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("moment", "is_open"),
    [
        (_utc(23, 12), True),  # Monday 09:00 local: opens
        (_utc(23, 11, 59), False),  # Monday 08:59 local
        (_utc(23, 20, 59), True),  # Monday 17:59 local (20:59 UTC)
        (_utc(23, 21), False),  # Monday 18:00 local: closed (closing is exclusive)
        (_utc(26, 15), False),  # Thursday: no row, closed
        (_utc(27, 21), True),  # Friday 18:00 local: overnight interval opens
        (_utc(28, 4, 30), True),  # Saturday 01:30 local: still Friday's night
        (_utc(28, 5), False),  # Saturday 02:00 local: closed
        (_utc(28, 15), False),  # Saturday afternoon
        (_utc(29, 3), True),  # Sunday 00:00 local: 00:00–00:00 is all day
        (_utc(30, 2, 59), True),  # Sunday 23:59 local
        (_utc(30, 3), False),  # Monday 00:00 local: Sunday is over, Monday opens at 9
    ],
)
def test_is_open_at_in_the_business_time_zone(db, moment, is_open):
    business = Business(name="x", slug="x", timezone="America/Sao_Paulo")
    hours = [OpeningHours(weekday=d, opens=o, closes=c) for d, o, c in WEEK]

    assert business.is_open_at(moment, hours) is is_open


def test_is_open_at_depends_on_the_time_zone(db):
    hours = [OpeningHours(weekday=0, opens=T(9), closes=T(18))]
    moment = _utc(23, 12)  # Monday 09:00 in São Paulo, Monday 21:00 in Tokyo

    assert Business(timezone="America/Sao_Paulo").is_open_at(moment, hours)
    assert not Business(timezone="Asia/Tokyo").is_open_at(moment, hours)


def test_is_open_at_with_no_hours_is_closed(db):
    assert not Business(timezone="UTC").is_open_at(_utc(23, 12), [])


# --- Invitations ------------------------------------------------------------------------


def test_invitation_mail_goes_out_after_commit_with_the_link(
    business, owner, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://conversa.example"

    with django_capture_on_commit_callbacks() as callbacks:
        invitation, key = services.invite_member(
            actor=owner, business=business, email=" New.Person@Example.COM ", role=ROLE.ADMIN
        )
        assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()

    assert invitation.email == "new.person@example.com"
    assert invitation.role == ROLE.ADMIN
    assert invitation.invited_by == owner
    assert invitation.state == "pending"
    (message,) = mail.outbox
    assert message.to == ["new.person@example.com"]
    assert "Padaria Central" in message.subject
    assert f"https://conversa.example/invitations/{key}/" in message.body
    assert "Olga Owner" in message.body


def test_only_the_hash_of_the_invitation_key_is_stored(business, owner):
    invitation, key = services.invite_member(
        actor=owner, business=business, email="x@example.com", role=ROLE.AGENT
    )

    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(v) for v in stored.values()}


def test_a_rolled_back_invitation_sends_no_mail(
    business, owner, django_capture_on_commit_callbacks
):
    # given an invitation made inside a transaction that then fails
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.invite_member(actor=owner, business=business, email="x@example.com", role="agent")
        raise RuntimeError("something later in the request failed")

    # then neither the invitation nor its e-mail exist
    assert callbacks == []
    assert mail.outbox == []
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_a_new_invitation_replaces_the_pending_one(business, owner):
    first, first_key = services.invite_member(
        actor=owner, business=business, email="x@example.com", role=ROLE.AGENT
    )

    second, second_key = services.invite_member(
        actor=owner, business=business, email="X@example.com", role=ROLE.ADMIN
    )

    first.refresh_from_db()
    assert first.state == "revoked"
    assert second.state == "pending"
    user = UserFactory(email="x@example.com")
    with pytest.raises(AppError):
        services.accept_invitation(user=user, key=first_key)
    assert services.accept_invitation(user=user, key=second_key).role == ROLE.ADMIN


@pytest.mark.parametrize("who", ["admin", "agent", "outsider", "other_owner"])
def test_only_owners_invite(business, admin, agent, outsider, other, who):
    actor = {"admin": admin, "agent": agent, "outsider": outsider, "other_owner": other.owner}[who]
    count = Invitation.objects.count()

    with pytest.raises(AppError) as exc:
        services.invite_member(actor=actor, business=business, email="x@example.com", role="agent")

    assert exc.value.code == "forbidden"
    assert Invitation.objects.count() == count


def test_inviting_a_member_is_refused(business, owner, agent):
    with pytest.raises(AppError) as exc:
        services.invite_member(
            actor=owner, business=business, email="AGENT@example.com", role=ROLE.ADMIN
        )

    assert (exc.value.code, exc.value.field) == ("already_member", "email")


@pytest.mark.parametrize("email", ["", "not an e-mail", "<script>@example.com", "a@b@c"])
def test_inviting_a_bad_address_is_refused_and_sends_nothing(
    business, owner, email, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AppError) as exc:
        services.invite_member(actor=owner, business=business, email=email, role="agent")

    assert (exc.value.code, exc.value.field) == ("invalid", "email")
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_inviting_with_an_unknown_role_is_refused(business, owner):
    with pytest.raises(AppError) as exc:
        services.invite_member(actor=owner, business=business, email="x@example.com", role="god")

    assert exc.value.code == "invalid_role"
    assert not Invitation.objects.filter(email="x@example.com").exists()


def test_accepting_makes_a_member_once(business, owner):
    invitation, key = services.invite_member(
        actor=owner, business=business, email="new@example.com", role=ROLE.ADMIN
    )
    user = UserFactory(email="NEW@example.com")

    membership = services.accept_invitation(user=user, key=key)

    assert (membership.user, membership.business, membership.role) == (user, business, "admin")
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert invitation.accepted_by == user

    with translation.override("en"), pytest.raises(AppError) as exc:
        services.accept_invitation(user=user, key=key)
    assert exc.value.code == "invitation_used"
    assert "already been used" in str(exc.value)
    assert Membership.objects.filter(user=user).count() == 1


def _pending(business, owner, email="new@example.com"):
    return services.invite_member(actor=owner, business=business, email=email, role=ROLE.AGENT)


def _expire(invitation):
    # Time travel: the only direct write, since no service ages an invitation.
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def test_an_expired_invitation_cannot_be_accepted(business, owner):
    invitation, key = _pending(business, owner)
    _expire(invitation)

    with translation.override("en"), pytest.raises(AppError) as exc:
        services.accept_invitation(user=UserFactory(email="new@example.com"), key=key)

    assert exc.value.code == "invitation_expired"
    assert "expired" in str(exc.value)
    assert business.memberships.count() == 1


def test_a_revoked_invitation_cannot_be_accepted(business, owner):
    invitation, key = _pending(business, owner)
    services.revoke_invitation(actor=owner, invitation=invitation)

    with pytest.raises(AppError) as exc:
        services.accept_invitation(user=UserFactory(email="new@example.com"), key=key)

    assert exc.value.code == "invitation_revoked"
    assert business.memberships.count() == 1


def test_an_invitation_is_for_the_invited_address_only(business, owner):
    invitation, key = _pending(business, owner)

    with pytest.raises(AppError) as exc:
        services.accept_invitation(user=UserFactory(email="someone-else@example.com"), key=key)

    assert exc.value.code == "invitation_wrong_user"
    assert "new@example.com" in str(exc.value)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert business.memberships.count() == 1


def test_a_member_cannot_accept_a_second_membership(business, owner, agent):
    # given an invitation made before the person joined by another link
    invitation = Invitation.objects.create(
        business=business,
        email=agent.email,
        role=ROLE.OWNER,
        key_hash=hashlib.sha256(b"old-key").hexdigest(),
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )

    with pytest.raises(AppError) as exc:
        services.accept_invitation(user=agent, key="old-key")

    assert exc.value.code == "already_member"
    assert business.memberships.get(user=agent).role == ROLE.AGENT
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_an_unknown_key_is_refused(db):
    with pytest.raises(AppError) as exc:
        services.accept_invitation(user=UserFactory(), key="no-such-key")

    assert exc.value.code == "invitation_invalid"


def test_owner_revokes_a_pending_invitation(business, owner):
    invitation, _key = _pending(business, owner)

    services.revoke_invitation(actor=owner, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.state == "revoked"


def test_revoking_is_for_owners_and_pending_invitations(business, owner, admin):
    invitation, key = _pending(business, owner)
    with pytest.raises(AppError) as exc:
        services.revoke_invitation(actor=admin, invitation=invitation)
    assert exc.value.code == "forbidden"

    services.accept_invitation(user=UserFactory(email="new@example.com"), key=key)
    with pytest.raises(AppError) as exc:
        services.revoke_invitation(actor=owner, invitation=invitation)
    assert exc.value.code == "invitation_not_pending"
    invitation.refresh_from_db()
    assert invitation.state == "accepted"


def test_purge_deletes_only_long_ended_invitations(business, owner):
    old, _ = _pending(business, owner, "old@example.com")
    recent, _ = _pending(business, owner, "recent@example.com")
    pending, _ = _pending(business, owner, "pending@example.com")
    now = timezone.now()
    Invitation.objects.filter(pk=old.pk).update(expires_at=now - datetime.timedelta(days=31))
    Invitation.objects.filter(pk=recent.pk).update(expires_at=now - datetime.timedelta(days=29))

    deleted = services.purge_stale_invitations()

    assert deleted == 1
    assert set(Invitation.objects.values_list("pk", flat=True)) >= {recent.pk, pending.pk}
    assert not Invitation.objects.filter(pk=old.pk).exists()


# --- Roles and removal -----------------------------------------------------------------


def test_owner_changes_a_role(business, owner, agent):
    membership = business.memberships.get(user=agent)

    services.change_member_role(actor=owner, membership=membership, role=ROLE.ADMIN)

    membership.refresh_from_db()
    assert membership.role == ROLE.ADMIN


def test_the_last_owner_cannot_be_demoted(business, owner):
    membership = business.memberships.get(user=owner)

    with pytest.raises(AppError) as exc:
        services.change_member_role(actor=owner, membership=membership, role=ROLE.ADMIN)

    assert exc.value.code == "last_owner"
    membership.refresh_from_db()
    assert membership.role == ROLE.OWNER


def test_an_owner_may_step_down_when_another_owner_remains(business, owner):
    co_owner = join(business=business, role=ROLE.OWNER).user

    services.change_member_role(
        actor=owner, membership=business.memberships.get(user=owner), role=ROLE.ADMIN
    )

    roles = dict(business.memberships.values_list("user_id", "role"))
    assert roles == {owner.pk: ROLE.ADMIN, co_owner.pk: ROLE.OWNER}


@pytest.mark.needs_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("owners", [2, 3])
def test_two_owners_demoting_each_other_at_once_leave_one_of_them_owner(monkeypatch, owners):
    # given two owners (and maybe a third) who each demote the other at the same moment
    first = UserFactory()
    business = create_business(owner=first)
    second = join(business=business, role=ROLE.OWNER).user
    for _ in range(owners - 2):
        join(business=business, role=ROLE.OWNER)
    barrier = threading.Barrier(2, timeout=10)
    lock_team = services._lock_team_as_owner

    def lock_together(actor, business):
        barrier.wait()  # both requests are in; now both reach for the lock
        return lock_team(actor, business)

    monkeypatch.setattr(services, "_lock_team_as_owner", lock_together)
    outcome = {}

    def demote(actor, target):
        try:
            membership = business.memberships.get(user=target)
            services.change_member_role(actor=actor, membership=membership, role=ROLE.ADMIN)
            outcome[actor.pk] = "demoted"
        except AppError as exc:
            outcome[actor.pk] = exc.code
        finally:
            connection.close()

    # when they run concurrently
    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    # then the lock serialises them, and the authority check runs under it: whoever
    # comes second is no longer an owner and is refused
    assert sorted(outcome.values()) == ["demoted", "forbidden"]
    still_owner = {first.pk, second.pk} & set(
        business.memberships.filter(role=ROLE.OWNER).values_list("user_id", flat=True)
    )
    assert len(still_owner) == 1
    assert business.memberships.filter(role=ROLE.OWNER).count() == owners - 1


@pytest.mark.parametrize("who", ["admin", "agent", "other_owner"])
def test_only_owners_change_roles(business, admin, agent, other, who):
    actor = {"admin": admin, "agent": agent, "other_owner": other.owner}[who]
    membership = business.memberships.get(user=agent)

    with pytest.raises(AppError) as exc:
        services.change_member_role(actor=actor, membership=membership, role=ROLE.OWNER)

    assert exc.value.code == "forbidden"
    membership.refresh_from_db()
    assert membership.role == ROLE.AGENT


def test_an_unknown_role_is_refused(business, owner, agent):
    membership = business.memberships.get(user=agent)

    with pytest.raises(AppError) as exc:
        services.change_member_role(actor=owner, membership=membership, role="emperor")

    assert exc.value.code == "invalid_role"


def test_owner_removes_a_member(business, owner, agent):
    services.remove_member(actor=owner, membership=business.memberships.get(user=agent))

    assert not business.memberships.filter(user=agent).exists()


def test_the_last_owner_cannot_be_removed(business, owner, agent):
    with pytest.raises(AppError) as exc:
        services.remove_member(actor=owner, membership=business.memberships.get(user=owner))

    assert exc.value.code == "last_owner"
    assert business.memberships.count() == 2


@pytest.mark.parametrize("who", ["admin", "agent", "other_owner"])
def test_only_owners_remove_members(business, admin, agent, other, who):
    actor = {"admin": admin, "agent": agent, "other_owner": other.owner}[who]

    with pytest.raises(AppError) as exc:
        services.remove_member(actor=actor, membership=business.memberships.get(user=agent))

    assert exc.value.code == "forbidden"
    assert business.memberships.filter(user=agent).exists()


# --- API tokens ----------------------------------------------------------------------


def test_a_token_is_returned_once_and_stored_as_a_hash(db):
    user = UserFactory()

    token, raw = services.create_api_token(user=user, name="stock sync")

    assert raw.startswith("cv_")
    assert len(raw) > 40
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert stored["key_hash"] == hashlib.sha256(raw.encode()).hexdigest()
    assert stored["prefix"] == raw[:10]
    assert raw not in {str(v) for v in stored.values()}


def test_a_token_authenticates_its_user_until_revoked(db):
    user = UserFactory()
    token, raw = services.create_api_token(user=user, name="sync")

    found = services.authenticate_api_token(raw=raw)
    assert (found, found.user) == (token, user)
    token.refresh_from_db()
    assert token.last_used_at is not None

    services.revoke_api_token(user=user, token=token)

    assert services.authenticate_api_token(raw=raw) is None
    token.refresh_from_db()
    assert not token.is_active


@pytest.mark.parametrize("raw", ["", "cv_nope", "not-a-token", "cv_" + "x" * 200])
def test_unknown_tokens_authenticate_nobody(db, raw):
    services.create_api_token(user=UserFactory(), name="sync")

    assert services.authenticate_api_token(raw=raw) is None


def test_a_deactivated_user_token_authenticates_nobody(db):
    user = UserFactory()
    _token, raw = services.create_api_token(user=user, name="sync")
    user.is_active = False
    user.save()

    assert services.authenticate_api_token(raw=raw) is None


def test_nobody_revokes_someone_else_token(db):
    token, raw = services.create_api_token(user=UserFactory(), name="sync")

    with pytest.raises(AppError) as exc:
        services.revoke_api_token(user=UserFactory(), token=token)

    assert exc.value.code == "not_found"
    assert services.authenticate_api_token(raw=raw) == token


@pytest.mark.parametrize("name", ["", "   ", "<script>x</script>", "x" * 61])
def test_a_token_needs_a_plain_name(db, name):
    with pytest.raises(AppError) as exc:
        services.create_api_token(user=UserFactory(), name=name)

    assert exc.value.field == "name"
    assert not ApiToken.objects.exists()


def test_at_most_twenty_active_tokens(db):
    user = UserFactory()
    tokens = [services.create_api_token(user=user, name=f"t{i}")[0] for i in range(20)]

    with pytest.raises(AppError) as exc:
        services.create_api_token(user=user, name="one too many")
    assert exc.value.code == "too_many_tokens"

    services.revoke_api_token(user=user, token=tokens[0])
    services.create_api_token(user=user, name="now fine")


def test_the_beat_job_purges_stale_invitations(business, owner):
    from accounts.tasks import expire_invitations

    old, _ = _pending(business, owner, "old@example.com")
    Invitation.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=40)
    )

    assert expire_invitations() == 1
    assert not Invitation.objects.filter(pk=old.pk).exists()


def test_a_description_over_512_characters_is_refused_by_the_service(owner, business):
    with pytest.raises(AppError) as info:
        services.update_business_profile(actor=owner, business=business, description="a" * 513)
    assert info.value.field == "description"
    business.refresh_from_db()
    assert len(business.description) <= 512


def test_an_invitation_to_a_deactivated_business_cannot_be_accepted(owner, business, outsider):
    _invitation, key = services.invite_member(
        actor=owner, business=business, email=outsider.email, role="agent"
    )
    Business.objects.filter(pk=business.pk).update(is_active=False)
    with pytest.raises(AppError) as info:
        services.accept_invitation(user=outsider, key=key)
    assert info.value.code == "business_inactive"
    assert not Membership.objects.filter(user=outsider, business=business).exists()
