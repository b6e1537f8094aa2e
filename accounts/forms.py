import datetime

from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Business, Membership, OpeningHours, User
from accounts.validators import normalize_phone


class PhoneFieldMixin:
    def clean_phone(self):
        try:
            return normalize_phone(self.cleaned_data.get("phone", ""))
        except ValidationError:
            raise ValidationError(
                _("Enter a valid phone number, e.g. +55 11 98765-4321.")
            ) from None


class UserProfileForm(PhoneFieldMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "phone", "language"]


class BusinessCreateForm(forms.ModelForm):
    class Meta:
        model = Business
        fields = ["name", "slug", "category", "city"]
        help_texts = {
            "slug": _(
                "Your public page will be at /s/<address>/. Lowercase letters, digits, hyphens."
            )
        }


class BusinessProfileForm(PhoneFieldMixin, forms.ModelForm):
    class Meta:
        model = Business
        fields = Business.PROFILE_FIELDS
        widgets = {
            "about": forms.TextInput(attrs={"maxlength": 139}),
            "description": forms.Textarea(attrs={"rows": 4, "maxlength": 512}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
            "store_url": forms.URLInput(attrs={"placeholder": "https://"}),
        }


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo"),
        help_text=_("JPEG, PNG or WebP, up to 5 MB and 4096×4096 pixels."),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )


class OpeningHoursForm(forms.Form):
    """Seven rows of (open?, opens, closes). A closed day has no interval."""

    def __init__(self, *args, hours: list[OpeningHours] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        by_day = {h.weekday: h for h in hours or []}
        for day, label in OpeningHours.Weekday.choices:
            current = by_day.get(day)
            self.fields[f"open_{day}"] = forms.BooleanField(
                label=_("%(day)s open") % {"day": label},
                required=False,
                initial=current is not None,
            )
            self.fields[f"opens_{day}"] = forms.TimeField(
                label=_("%(day)s opens at") % {"day": label},
                required=False,
                initial=current.opens if current else datetime.time(9),
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )
            self.fields[f"closes_{day}"] = forms.TimeField(
                label=_("%(day)s closes at") % {"day": label},
                required=False,
                initial=current.closes if current else datetime.time(18),
                widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            )

    def rows(self):
        for day, label in OpeningHours.Weekday.choices:
            yield label, self[f"open_{day}"], self[f"opens_{day}"], self[f"closes_{day}"]

    def clean(self):
        data = super().clean()
        intervals = []
        for day, label in OpeningHours.Weekday.choices:
            if not data.get(f"open_{day}"):
                # A closed day has no interval: whatever is in its time boxes does not
                # matter, and an error there would fail the form with nothing shown.
                for name in (f"opens_{day}", f"closes_{day}"):
                    self._errors.pop(name, None)
                continue
            opens, closes = data.get(f"opens_{day}"), data.get(f"closes_{day}")
            if opens is None or closes is None:
                raise ValidationError(
                    _("Give opening and closing times for %(day)s.") % {"day": label}
                )
            intervals.append((day, opens, closes))
        data["intervals"] = intervals
        return data


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(
        label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.AGENT
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class ApiTokenForm(forms.Form):
    NEVER = "never"

    name = forms.CharField(
        label=_("Token name"),
        max_length=60,
        help_text=_('What the token is for, e.g. "stock sync".'),
    )
    lifetime = forms.ChoiceField(
        label=_("Expires"),
        choices=[
            ("30", _("In 30 days")),
            ("90", _("In 90 days")),
            ("365", _("In a year")),
            (NEVER, _("Never (not recommended)")),
        ],
        initial="90",
        required=False,
        help_text=_(
            "A token that never expires works for anyone who finds it until you revoke "
            "it; choose an expiry unless a program cannot be updated."
        ),
    )

    def clean_lifetime(self) -> int | None:
        value = self.cleaned_data["lifetime"] or str(services.DEFAULT_TOKEN_LIFETIME_DAYS)
        return None if value == self.NEVER else int(value)


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    city = forms.CharField(label=_("City"), required=False, max_length=80)
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *Business.Category.choices],
    )


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up, timed the same for a taken address as for a new one."""

    def try_save(self, request):
        if self.account_already_exists:
            # A new account's password is hashed (the slow part of a sign-up, by
            # design); hash this one too and throw it away, as Django's ModelBackend
            # does for an unknown login, so the time taken does not tell that the
            # address has an account (issue #15 item 7). The mails of both paths are
            # queued, not sent, in the request (AccountAdapter.send_mail).
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    """allauth's password change, which also offers to revoke the API tokens (ticked by
    default: whoever knew the old password may have made one). The other sessions end
    with any password change (``services.set_password``)."""

    revoke_tokens = forms.BooleanField(
        label=_("Also revoke my API tokens"),
        required=False,
        initial=True,
        help_text=_("Programs using them will stop working until you give them new ones."),
    )

    def save(self) -> None:
        self.revoked_tokens = services.set_password(
            user=self.user,
            password=self.cleaned_data["password1"],
            revoke_tokens=self.cleaned_data.get("revoke_tokens", False),
        )


class ResetPasswordKeyForm(allauth_forms.ResetPasswordKeyForm):
    """allauth's password reset, which also revokes every API token: a reset means the
    old password may be known to someone else."""

    def save(self) -> None:
        services.set_password(
            user=self.user, password=self.cleaned_data["password1"], revoke_tokens=True
        )
