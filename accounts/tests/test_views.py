import datetime
import json
import re
from types import SimpleNamespace

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Business, Invitation, Membership, OpeningHours
from accounts.tests.factories import UserFactory, create_business, join
from core.tests.uploads import PDF_BYTES, png_upload, upload

ROLE = Membership.Role


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _state(business) -> dict:
    """Everything a dashboard action could change, as stored now."""
    return {
        "business": Business.objects.filter(pk=business.pk).values().get(),
        "members": list(business.memberships.values_list("user_id", "role").order_by("pk")),
        "invitations": list(business.invitations.values().order_by("pk")),
        "hours": list(business.hours.values_list("weekday", "opens", "closes")),
    }


def _profile_data(business, **changes) -> dict:
    data = {
        "name": business.name,
        "slug": business.slug,
        "about": business.about,
        "description": business.description,
        "category": business.category,
        "address": business.address,
        "city": business.city,
        "country": business.country,
        "email": business.email,
        "phone": business.phone,
        "website": business.website,
        "store_url": business.store_url,
        "timezone": business.timezone,
        "currency": business.currency,
    } | changes
    return {f"profile-{k}": v for k, v in data.items()}


# --- The permission table ---------------------------------------------------------------


# (url name, method, least role allowed, extra URL kwargs, POST data), all under the
# business's slug. A POST carries data that would change something if it got through.
DASHBOARD = [
    pytest.param("dashboard", "get", ROLE.AGENT, {}, None, id="dashboard"),
    pytest.param("business_settings", "get", ROLE.ADMIN, {}, None, id="settings-get"),
    pytest.param(
        "business_settings",
        "post",
        ROLE.ADMIN,
        {},
        lambda w: _profile_data(w.business, name="Hacked"),
        id="settings-post",
    ),
    pytest.param(
        "business_logo", "post", ROLE.ADMIN, {}, lambda w: {"logo": png_upload()}, id="logo"
    ),
    pytest.param(
        "business_logo", "post", ROLE.ADMIN, {}, lambda w: {"remove": "1"}, id="logo-remove"
    ),
    pytest.param(
        "business_hours",
        "post",
        ROLE.ADMIN,
        {},
        lambda w: {"hours-open_0": "on", "hours-opens_0": "09:00", "hours-closes_0": "18:00"},
        id="hours",
    ),
    pytest.param("team", "get", ROLE.ADMIN, {}, None, id="team-get"),
    pytest.param(
        "team",
        "post",
        ROLE.OWNER,
        {},
        lambda w: {"email": "new@example.com", "role": "owner"},
        id="team-invite",
    ),
    pytest.param(
        "member_role",
        "post",
        ROLE.OWNER,
        {"membership_id": "agent_membership"},
        lambda w: {"role": "owner"},
        id="member-role",
    ),
    pytest.param(
        "member_remove",
        "post",
        ROLE.OWNER,
        {"membership_id": "agent_membership"},
        lambda w: {},
        id="member-remove",
    ),
    pytest.param(
        "invitation_revoke",
        "post",
        ROLE.OWNER,
        {"invitation_id": "invitation"},
        lambda w: {},
        id="invitation-revoke",
    ),
]
ROW = ("name", "method", "min_role", "kwargs", "data")


def _members(allowed: bool) -> list:
    """(member role, *row) for each dashboard row the member may, or may not, use."""
    return [
        pytest.param(role, *row.values, id=f"{role}-{row.id}")
        for role in ROLE
        for row in DASHBOARD
        if (Membership.rank(role) >= Membership.rank(row.values[2])) is allowed
    ]


def _request(client, world, name, method, kwargs, data, slug=None):
    url_kwargs = {"slug": slug or world.business.slug}
    url_kwargs |= {key: getattr(world, attr).pk for key, attr in kwargs.items()}
    url = reverse(name, kwargs=url_kwargs)
    if method == "get":
        return client.get(url)
    return client.post(url, data(world))


@pytest.mark.parametrize(ROW, DASHBOARD)
def test_anonymous_is_sent_to_sign_in(client, world, name, method, min_role, kwargs, data):
    before = _state(world.business)

    response = _request(client, world, name, method, kwargs, data)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login") + "?next=/dashboard/")
    assert _state(world.business) == before


@pytest.mark.parametrize(ROW, DASHBOARD)
@pytest.mark.parametrize("who", ["outsider", "other_owner", "other_admin", "other_agent"])
def test_people_outside_the_business_get_404(
    client, world, who, name, method, min_role, kwargs, data
):
    holder, _, attr = who.rpartition("_")
    client.force_login(getattr(world.other if holder else world, attr))
    before = _state(world.business)

    response = _request(client, world, name, method, kwargs, data)

    assert response.status_code == 404
    assert _state(world.business) == before


@pytest.mark.parametrize(("role", *ROW), _members(allowed=False))
def test_members_below_the_role_get_404(client, world, role, name, method, min_role, kwargs, data):
    client.force_login(getattr(world, role))
    before = _state(world.business)

    response = _request(client, world, name, method, kwargs, data)

    assert response.status_code == 404
    assert _state(world.business) == before


@pytest.mark.parametrize(("role", *ROW), _members(allowed=True))
def test_members_with_the_role_get_in(client, world, role, name, method, min_role, kwargs, data):
    client.force_login(getattr(world, role))

    response = _request(client, world, name, method, kwargs, data)

    assert response.status_code in (200, 302)


@pytest.mark.parametrize(ROW, [row for row in DASHBOARD if row.values[3]])
def test_another_business_objects_are_not_found_under_ones_own_slug(
    client, world, name, method, min_role, kwargs, data
):
    # given the owner of the business next door, using their own slug with our ids
    client.force_login(world.other.owner)
    before = _state(world.business)

    response = _request(client, world, name, method, kwargs, data, slug=world.other.business.slug)

    assert response.status_code == 404
    assert _state(world.business) == before


@pytest.mark.parametrize("who", ["outsider", "other_owner"])
def test_switching_to_someone_else_business_is_404(client, world, who):
    client.force_login(world.outsider if who == "outsider" else world.other.owner)

    response = client.get(reverse("dashboard_switch"), {"business": world.business.slug})

    assert response.status_code == 404


def test_switching_to_one_own_business_redirects_there(client, world):
    client.force_login(world.agent)

    response = client.get(reverse("dashboard_switch"), {"business": world.business.slug})

    assert response.status_code == 302
    assert response.url == reverse("dashboard", kwargs={"slug": world.business.slug})


@pytest.mark.parametrize(
    "name",
    ["dashboard_home", "business_create", "dashboard_switch", "account_profile", "api_tokens"],
)
def test_account_pages_need_sign_in(client, db, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize(
    "name", ["dashboard", "business_settings", "team", "business_logo", "member_role"]
)
def test_an_inactive_business_dashboard_is_404_even_for_its_owner(client, business, owner, name):
    Business.objects.filter(pk=business.pk).update(is_active=False)
    client.force_login(owner)
    kwargs = {"slug": business.slug}
    if name == "member_role":
        kwargs["membership_id"] = business.memberships.get().pk

    response = client.post(reverse(name, kwargs=kwargs), {"role": "agent"})

    assert response.status_code == 404


def test_post_only_urls_refuse_get(client, world):
    client.force_login(world.owner)

    response = client.get(reverse("business_logo", kwargs={"slug": world.business.slug}))

    assert response.status_code == 405


# --- Dashboard home and creating a business ---------------------------------------------


def test_dashboard_home_lists_businesses_or_offers_to_create_one(client, outsider, business, owner):
    client.force_login(outsider)
    response = client.get(reverse("dashboard_home"))
    assert response.status_code == 200
    assert reverse("business_create") in response.text

    client.force_login(owner)
    response = client.get(reverse("dashboard_home"))
    assert response.url == reverse("dashboard", kwargs={"slug": business.slug})


def test_create_business_form(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("business_create")).status_code == 200

    response = client.post(
        reverse("business_create"),
        {"name": "Nova Loja", "slug": "", "category": "food", "city": "Recife"},
        follow=True,
    )

    business = Business.objects.get(name="Nova Loja")
    assert business.slug == "nova-loja"
    assert response.redirect_chain[-1][0] == reverse("business_settings", args=["nova-loja"])
    assert "“Nova Loja” is ready. Complete its profile below." in _messages(response)
    assert business.memberships.get().user == outsider


def test_a_business_named_new_gets_a_reachable_dashboard(client, outsider):
    client.force_login(outsider)

    client.post(reverse("business_create"), {"name": "New", "slug": "", "category": "food"})

    business = Business.objects.get(name="New")
    response = client.get(reverse("dashboard", kwargs={"slug": business.slug}))
    assert response.status_code == 200
    assert response.context["business"] == business


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "X", "slug": "loja-vizinha"}, "already exists"),
        ({"name": "X", "slug": "new"}, "That address is taken; choose another."),
        ({"name": "<b>X</b>", "slug": ""}, "HTML tags and scripts are not allowed"),
        ({"name": "X", "slug": "Bad Slug"}, "Enter a valid"),
    ],
)
def test_create_business_shows_why_and_creates_nothing(client, outsider, other, data, error):
    client.force_login(outsider)
    count = Business.objects.count()

    response = client.post(reverse("business_create"), data | {"category": "food", "city": ""})

    assert response.status_code == 200
    assert error in response.text
    assert Business.objects.count() == count


# --- Settings: profile, logo, hours --------------------------------------------------------


def test_profile_form_saves_with_a_visible_message(client, business, admin):
    client.force_login(admin)
    url = reverse("business_settings", kwargs={"slug": business.slug})
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        _profile_data(
            business, about="Pão quente", phone="+55 11 98765-4321", website="https://x.example/"
        )
        | {"profile-fee_bps": "0", "fee_bps": "0"},
        follow=True,
    )

    assert response.redirect_chain == [(url, 302)]
    assert "Profile saved." in response.text
    business.refresh_from_db()
    assert business.about == "Pão quente"
    assert business.phone == "+5511987654321"
    assert business.fee_bps == 399


def test_changing_the_slug_moves_the_dashboard(client, business, owner):
    client.force_login(owner)

    response = client.post(
        reverse("business_settings", kwargs={"slug": business.slug}),
        _profile_data(business, slug="padaria-nova"),
    )

    assert response.url == reverse("business_settings", kwargs={"slug": "padaria-nova"})


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"website": "javascript:alert(1)"}, "Enter a valid URL"),
        ({"store_url": "ftp://files.example.com/"}, "Enter a valid URL"),
        ({"name": "<script>alert(1)</script>"}, "HTML tags and scripts are not allowed"),
        ({"about": "<img src=x onerror=alert(1)>"}, "HTML tags and scripts are not allowed"),
        ({"description": "<a href=x>x</a>"}, "HTML tags and scripts are not allowed"),
        ({"slug": "loja-vizinha"}, "already exists"),
        ({"slug": "new"}, "That address is taken; choose another."),
        ({"timezone": "Mars/Base"}, "Unknown time zone"),
        ({"phone": "123"}, "Enter a valid phone number"),
    ],
)
def test_bad_profile_input_shows_why_and_changes_nothing(
    client, business, owner, other, changes, error
):
    client.force_login(owner)
    before = _state(business)

    response = client.post(
        reverse("business_settings", kwargs={"slug": business.slug}),
        _profile_data(business, **changes),
    )

    assert response.status_code == 200
    assert error in response.text
    assert "<script>alert" not in response.text
    assert _state(business) == before
    # The page still belongs to this business: its forms post to its own addresses.
    assert f'action="/dashboard/{business.slug}/settings/logo/"' in response.text
    assert "/dashboard/loja-vizinha/" not in response.text
    assert "<h1>Business profile</h1>" in response.text


def test_logo_upload_through_the_form(client, business, admin):
    client.force_login(admin)

    response = client.post(
        reverse("business_logo", kwargs={"slug": business.slug}),
        {"logo": png_upload((600, 300))},
        follow=True,
    )

    assert "Logo updated." in _messages(response)
    business.refresh_from_db()
    assert business.logo.name.endswith(".webp")
    assert business.logo_thumb.url in response.text


@pytest.mark.parametrize(
    ("file", "error"),
    [
        (lambda: upload(PDF_BYTES, "logo.jpg", "image/jpeg"), "not a JPEG, PNG or WebP image"),
        (lambda: upload(b"", "logo.png"), "The submitted file is empty."),
        (lambda: upload(b"\0" * (5 * 1024 * 1024 + 1), "big.png"), "the limit is 5 MB"),
        (lambda: None, "This field is required."),
    ],
    ids=["pdf", "empty", "over-5mb", "missing"],
)
def test_a_bad_logo_through_the_form_is_400_with_the_reason(client, business, owner, file, error):
    client.force_login(owner)
    services.set_business_logo(actor=owner, business=business, upload=png_upload())
    before = _state(business)
    f = file()

    response = client.post(
        reverse("business_logo", kwargs={"slug": business.slug}), {"logo": f} if f else {}
    )

    assert response.status_code == 400
    assert error in response.text
    assert _state(business) == before


def test_remove_logo_through_the_form(client, business, owner):
    services.set_business_logo(actor=owner, business=business, upload=png_upload())
    client.force_login(owner)

    response = client.post(
        reverse("business_logo", kwargs={"slug": business.slug}), {"remove": "1"}, follow=True
    )

    assert "Logo removed." in _messages(response)
    business.refresh_from_db()
    assert not business.logo


def test_hours_form_saves_the_week(client, business, admin):
    client.force_login(admin)

    response = client.post(
        reverse("business_hours", kwargs={"slug": business.slug}),
        {
            "hours-open_0": "on",
            "hours-opens_0": "09:00",
            "hours-closes_0": "18:00",
            "hours-open_4": "on",
            "hours-opens_4": "22:00",
            "hours-closes_4": "02:00",
            # Tuesday has times but is not ticked open: closed.
            "hours-opens_1": "09:00",
            "hours-closes_1": "18:00",
        },
        follow=True,
    )

    assert "Opening hours saved." in _messages(response)
    t = datetime.time
    assert list(business.hours.values_list("weekday", "opens", "closes")) == [
        (0, t(9), t(18)),
        (4, t(22), t(2)),
    ]


def test_hours_form_without_times_is_400_and_changes_nothing(client, business, owner):
    services.set_opening_hours(
        actor=owner, business=business, hours=[(2, datetime.time(8), datetime.time(12))]
    )
    client.force_login(owner)
    before = _state(business)

    response = client.post(
        reverse("business_hours", kwargs={"slug": business.slug}),
        {"hours-open_0": "on", "hours-opens_0": "", "hours-closes_0": "18:00"},
    )

    assert response.status_code == 400
    assert "Give opening and closing times for Monday." in response.text
    assert _state(business) == before


# --- Team ------------------------------------------------------------------------------


def test_team_page_lists_members_and_pending_invitations(client, world):
    client.force_login(world.owner)

    response = client.get(reverse("team", kwargs={"slug": world.business.slug}))

    assert response.status_code == 200
    for email in ("owner@example.com", "admin@example.com", "agent@example.com"):
        assert email in response.text
    assert "pending@example.com" in response.text
    assert "Send invitation" in response.text


def test_admin_sees_the_team_without_owner_controls(client, world):
    client.force_login(world.admin)

    response = client.get(reverse("team", kwargs={"slug": world.business.slug}))

    assert response.status_code == 200
    assert "Send invitation" not in response.text
    assert "/role/" not in response.text


def test_owner_invites_by_the_form_and_the_mail_carries_the_link(
    client, business, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("team", kwargs={"slug": business.slug}),
            {"email": "new@example.com", "role": "admin"},
            follow=True,
        )

    assert "Invitation sent to new@example.com." in _messages(response)
    (message,) = mail.outbox
    assert message.to == ["new@example.com"]
    link = re.search(r"https?://\S+/invitations/(\S+)/", message.body)
    invitation = Invitation.objects.get(email="new@example.com")
    assert invitation.role == ROLE.ADMIN
    assert (
        services.accept_invitation(
            user=UserFactory(email="new@example.com"), key=link.group(1)
        ).role
        == ROLE.ADMIN
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "agent@example.com", "role": "admin"}, "agent@example.com is already a member."),
        ({"email": "not an e-mail", "role": "agent"}, "Enter a valid email address."),
        ({"email": "x@example.com", "role": "emperor"}, "Select a valid choice."),
    ],
)
def test_a_bad_invitation_shows_why_and_sends_nothing(
    client, world, data, error, django_capture_on_commit_callbacks
):
    client.force_login(world.owner)
    before = _state(world.business)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("team", kwargs={"slug": world.business.slug}), data)

    assert response.status_code == 200
    assert error in response.text
    assert mail.outbox == []
    assert _state(world.business) == before


def test_owner_changes_a_role_and_removes_a_member(client, world):
    client.force_login(world.owner)
    slug, membership = world.business.slug, world.agent_membership

    response = client.post(
        reverse("member_role", kwargs={"slug": slug, "membership_id": membership.pk}),
        {"role": "admin"},
        follow=True,
    )
    assert f"{world.agent} is now Admin." in _messages(response)
    membership.refresh_from_db()
    assert membership.role == ROLE.ADMIN

    response = client.post(
        reverse("member_remove", kwargs={"slug": slug, "membership_id": membership.pk}),
        follow=True,
    )
    assert f"{world.agent} was removed from the team." in _messages(response)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_is_told_why_they_cannot_leave(client, world):
    client.force_login(world.owner)
    own = world.business.memberships.get(user=world.owner)
    before = _state(world.business)

    for name, data in [("member_role", {"role": "agent"}), ("member_remove", {})]:
        response = client.post(
            reverse(name, kwargs={"slug": world.business.slug, "membership_id": own.pk}),
            data,
            follow=True,
        )
        assert response.status_code == 200
        assert "A business needs at least one owner." in " ".join(_messages(response))

    assert _state(world.business) == before


def test_a_bad_role_is_refused_with_a_message(client, world):
    client.force_login(world.owner)
    before = _state(world.business)

    response = client.post(
        reverse(
            "member_role",
            kwargs={"slug": world.business.slug, "membership_id": world.agent_membership.pk},
        ),
        {"role": "emperor"},
        follow=True,
    )

    assert "Choose a valid role." in _messages(response)
    assert _state(world.business) == before


def test_owner_withdraws_an_invitation(client, world):
    client.force_login(world.owner)
    url = reverse(
        "invitation_revoke",
        kwargs={"slug": world.business.slug, "invitation_id": world.invitation.pk},
    )

    response = client.post(url, follow=True)
    assert "Invitation to pending@example.com withdrawn." in _messages(response)
    world.invitation.refresh_from_db()
    assert world.invitation.state == "revoked"

    response = client.post(url, follow=True)
    assert "This invitation is no longer pending." in _messages(response)


# --- Accepting an invitation ------------------------------------------------------------


@pytest.fixture
def invited(business, owner):
    invitation, key = services.invite_member(
        actor=owner, business=business, email="new@example.com", role=ROLE.ADMIN
    )
    return SimpleNamespace(
        invitation=invitation,
        key=key,
        url=reverse("invitation_accept", kwargs={"key": key}),
        user=UserFactory(email="new@example.com"),
    )


def test_signed_out_visitor_is_offered_sign_in_and_sign_up(client, invited):
    response = client.get(invited.url, headers={"accept-language": "en"})

    assert response.status_code == 200
    assert "Join Padaria Central" in response.text
    assert f"{reverse('account_login')}?next={invited.url}" in response.text
    assert f"{reverse('account_signup')}?next={invited.url}" in response.text
    assert "Accept invitation" not in response.text


def test_signed_out_post_changes_nothing(client, invited):
    response = client.post(invited.url)

    assert response.status_code == 200
    invited.invitation.refresh_from_db()
    assert invited.invitation.state == "pending"


def test_accepting_joins_once_and_a_reused_link_says_so(client, invited, business):
    client.force_login(invited.user)
    assert "Accept invitation" in client.get(invited.url).text

    response = client.post(invited.url, follow=True)

    assert response.redirect_chain[-1][0] == reverse("dashboard", kwargs={"slug": business.slug})
    assert "Welcome to Padaria Central!" in _messages(response)
    assert business.memberships.get(user=invited.user).role == ROLE.ADMIN

    again = client.post(invited.url)
    assert again.status_code == 400
    assert "This invitation has already been used." in again.text
    assert business.memberships.filter(user=invited.user).count() == 1


def test_an_expired_link_says_so(client, invited, business):
    Invitation.objects.filter(pk=invited.invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    client.force_login(invited.user)

    assert "This invitation has expired" in client.get(invited.url).text
    response = client.post(invited.url)

    assert response.status_code == 400
    assert "This invitation has expired; ask for a new one." in response.text
    assert not business.memberships.filter(user=invited.user).exists()


def test_someone_else_cannot_use_the_link(client, invited, business):
    client.force_login(UserFactory(email="intruder@example.com"))

    response = client.post(invited.url)

    assert response.status_code == 400
    assert "This invitation is for new@example.com." in response.text
    assert business.memberships.count() == 1


def test_an_unknown_invitation_link_is_404(client, db):
    assert client.get(reverse("invitation_accept", kwargs={"key": "nope"})).status_code == 404


# --- Public pages ---------------------------------------------------------------------------


@pytest.fixture
def shops(db):
    return [
        create_business(name="Padaria Sol", city="Recife", category="food"),
        create_business(name="Sapataria", city="Recife", category="apparel"),
        create_business(name="Salão Bela", city="Olinda", category="beauty"),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["Padaria Sol", "Salão Bela", "Sapataria"]),
        ({"q": "padaria"}, ["Padaria Sol"]),
        ({"city": "recife"}, ["Padaria Sol", "Sapataria"]),
        ({"category": "beauty"}, ["Salão Bela"]),
        ({"category": "not-a-category"}, ["Padaria Sol", "Salão Bela", "Sapataria"]),
        ({"page": "junk"}, ["Padaria Sol", "Salão Bela", "Sapataria"]),
        ({"q": "nothing like it"}, []),
    ],
)
def test_directory_search_and_filters(client, shops, query, expected):
    response = client.get(reverse("business_directory"), query, headers={"accept-language": "en"})

    assert response.status_code == 200
    assert [b.name for b in response.context["page"].object_list] == expected
    if not expected:
        assert "No shop matches your search." in response.text


def test_directory_queries_do_not_grow_with_the_page(client, db, django_assert_max_num_queries):
    for i in range(20):
        create_business(name=f"Shop {i:02}", city="Recife")

    with django_assert_max_num_queries(4):
        response = client.get(reverse("business_directory"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 20


def test_dashboard_queries_do_not_grow_with_the_businesses(client, owner, business):
    """The dashboard's overview, with its business switcher and navigation, costs the
    same for a member of 3 businesses as for one of 30."""

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dashboard", args=[business.slug])).status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        create_business(owner=owner, name=f"Loja {i:02}")
    client.force_login(owner)
    few = queries()
    for i in range(2, 29):
        create_business(owner=owner, name=f"Loja {i:02}")
    assert queries() == few
    html = client.get(reverse("dashboard", args=[business.slug])).content.decode()
    assert html.count("<option value=") >= 30


def _json_ld(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


def _local_business(html: str) -> dict:
    (ld,) = [b for b in _json_ld(html) if b.get("@type") == "LocalBusiness"]
    return ld


def test_public_profile_has_local_business_json_ld(client, business, owner):
    services.update_business_profile(
        actor=owner, business=business, about="Pão quente", phone="+5511987654321"
    )

    response = client.get(
        reverse("business_profile", kwargs={"slug": business.slug}),
        headers={"accept-language": "en"},
    )

    assert response.status_code == 200
    ld = _local_business(response.text)
    assert ld["name"] == "Padaria Central"
    assert ld["telephone"] == "+5511987654321"
    assert ld["url"].endswith(f"/s/{business.slug}/")
    assert "og:image" not in response.text
    assert "Hours not published." in response.text


def test_public_profile_shows_the_logo_as_og_image(client, business, owner):
    services.set_business_logo(actor=owner, business=business, upload=png_upload())
    business.refresh_from_db()

    response = client.get(reverse("business_profile", kwargs={"slug": business.slug}))

    assert f'<meta property="og:image" content="http://testserver{business.logo.url}">' in (
        response.text
    )
    assert _local_business(response.text)["logo"] == f"http://testserver{business.logo.url}"


def test_public_profile_says_open_now(client, business, owner):
    t = datetime.time
    services.set_opening_hours(
        actor=owner, business=business, hours=[(d, t(0), t(0)) for d in range(7)]
    )

    response = client.get(
        reverse("business_profile", kwargs={"slug": business.slug}),
        headers={"accept-language": "en"},
    )

    assert "Open now" in response.text
    assert "Open 24 hours" in response.text
    assert len(_local_business(response.text)["openingHoursSpecification"]) == 7


def test_public_profile_says_closed(client, business, owner):
    # Open only on a day three days from today, in the shop's time zone.
    today = timezone.now().astimezone(business.tz).weekday()
    services.set_opening_hours(
        actor=owner,
        business=business,
        hours=[((today + 3) % 7, datetime.time(9), datetime.time(10))],
    )

    response = client.get(
        reverse("business_profile", kwargs={"slug": business.slug}),
        headers={"accept-language": "en"},
    )

    assert "Closed" in response.text
    assert "Open now" not in response.text


def test_markup_never_reaches_the_json_ld_unescaped(client, db):
    # Text fields refuse markup, but a lone "<" is allowed: it must not end the block.
    business = create_business(name="Love <3 & Co", slug="love")

    response = client.get(reverse("business_profile", kwargs={"slug": business.slug}))

    assert "Love \\u003C3 \\u0026 Co" in response.text
    assert _local_business(response.text)["name"] == "Love <3 & Co"


def test_inactive_and_unknown_profiles_are_404(client, business):
    Business.objects.filter(pk=business.pk).update(is_active=False)

    assert client.get(reverse("business_profile", args=[business.slug])).status_code == 404
    assert client.get(reverse("business_profile", args=["no-such-shop"])).status_code == 404


# --- Account pages ----------------------------------------------------------------------------


def test_account_profile_saves_and_refuses_markup(client, db):
    user = UserFactory()
    client.force_login(user)

    response = client.post(
        reverse("account_profile"),
        {"display_name": "Ana", "phone": "+55 11 98765-4321", "language": "en"},
        follow=True,
    )
    assert "Your profile was saved." in _messages(response)
    user.refresh_from_db()
    assert (user.display_name, user.phone) == ("Ana", "+5511987654321")

    response = client.post(
        reverse("account_profile"), {"display_name": "<b>x</b>", "phone": "", "language": "en"}
    )
    assert "HTML tags and scripts are not allowed" in response.text
    user.refresh_from_db()
    assert user.display_name == "Ana"


def test_api_tokens_page_shows_a_new_token_once(client, db):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("api_tokens"), {"name": "stock sync"})

    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("cv_")
    assert raw in response.text
    token = ApiToken.objects.get(user=user)
    assert services.authenticate_api_token(raw=raw) == token
    again = client.get(reverse("api_tokens"))
    assert raw not in again.text
    assert "stock sync" in again.text
    assert token.prefix in again.text


def test_a_token_is_revoked_by_its_owner_only(client, db):
    user = UserFactory()
    token, raw = services.create_api_token(user=user, name="sync")
    client.force_login(UserFactory())

    response = client.post(reverse("api_token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert services.authenticate_api_token(raw=raw) == token

    client.force_login(user)
    response = client.post(reverse("api_token_revoke", args=[token.pk]), follow=True)
    assert "Token “sync” revoked." in _messages(response)
    assert services.authenticate_api_token(raw=raw) is None


# --- Security headers -------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["home", "directory", "profile", "dashboard", "login"])
def test_html_pages_carry_a_strict_csp(client, business, owner, page):
    if page == "dashboard":
        client.force_login(owner)
    url = {
        "home": reverse("home"),
        "directory": reverse("business_directory"),
        "profile": reverse("business_profile", args=[business.slug]),
        "dashboard": reverse("dashboard", args=[business.slug]),
        "login": reverse("account_login"),
    }[page]

    response = client.get(url)

    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


def test_the_hours_table_marks_today(client, business, owner):
    today = timezone.now().astimezone(business.tz).weekday()
    services.set_opening_hours(
        actor=owner, business=business, hours=[(today, datetime.time(0), datetime.time(0))]
    )

    response = client.get(reverse("business_profile", args=[business.slug]))

    label = OpeningHours.Weekday(today).label
    assert f'<tr class="today"><th scope="row">{label}</th>' in response.text


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"hours-open_0": "on", "hours-opens_0": "25:00", "hours-closes_0": "18:00"}, "Monday"),
        ({"hours-open_6": "on", "hours-opens_6": "9am", "hours-closes_6": "x"}, "Sunday"),
    ],
)
def test_hours_form_with_a_bad_time_names_the_day(client, business, owner, data, error):
    client.force_login(owner)

    response = client.post(reverse("business_hours", kwargs={"slug": business.slug}), data)

    assert response.status_code == 400
    assert f"Give opening and closing times for {error}." in response.text
    assert not business.hours.exists()


def test_hours_form_ignores_the_times_of_a_closed_day(client, business, owner):
    # Tuesday is not ticked open: whatever is in its time boxes does not matter.
    client.force_login(owner)

    response = client.post(
        reverse("business_hours", kwargs={"slug": business.slug}),
        {
            "hours-open_0": "on",
            "hours-opens_0": "09:00",
            "hours-closes_0": "18:00",
            "hours-opens_1": "junk",
            "hours-closes_1": "",
        },
    )

    assert response.status_code == 302
    assert list(business.hours.values_list("weekday", flat=True)) == [0]


def test_a_token_name_with_markup_is_refused_on_the_page(client, db):
    client.force_login(UserFactory())

    response = client.post(reverse("api_tokens"), {"name": "<script>x</script>"})

    assert response.status_code == 200
    assert "HTML tags and scripts are not allowed" in response.text
    assert response.context["new_token"] is None
    assert not ApiToken.objects.exists()


def test_an_owner_who_leaves_goes_back_to_the_dashboard_home(client, world):
    join(business=world.business, role=ROLE.OWNER)
    own = world.business.memberships.get(user=world.owner)
    client.force_login(world.owner)

    response = client.post(
        reverse("member_remove", kwargs={"slug": world.business.slug, "membership_id": own.pk})
    )

    assert response.url == reverse("dashboard_home")
    assert not world.business.memberships.filter(user=world.owner).exists()


@pytest.mark.parametrize("slug", ["\x00", "padaria\x00central", ""])
def test_switching_to_a_garbled_slug_is_404_not_500(client, business, owner, slug):
    # PostgreSQL refuses a NUL in a query parameter; it must never reach the database.
    client.force_login(owner)

    response = client.get(reverse("dashboard_switch"), {"business": slug})

    assert response.status_code == 404


@pytest.mark.parametrize("query", [{"q": "\x00"}, {"city": "a\x00", "category": "\x00"}])
def test_directory_survives_nul_bytes(client, business, query):
    assert client.get(reverse("business_directory"), query).status_code == 200


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("page", ["team", "dashboard"])
def test_dashboard_pages_do_not_grow_queries_with_the_team(client, business, owner, page):
    client.force_login(owner)
    url = reverse(page, kwargs={"slug": business.slug})
    join(business=business, role=ROLE.ADMIN)
    services.invite_member(actor=owner, business=business, email="a@example.com", role="agent")
    small = _queries(client, url)

    for role in (ROLE.AGENT, ROLE.AGENT, ROLE.ADMIN, ROLE.OWNER):
        join(business=business, role=role)
    for i in range(4):
        services.invite_member(
            actor=owner, business=business, email=f"p{i}@example.com", role="agent"
        )
    create_business(owner=owner)

    assert _queries(client, url) == small
