"""Forms for the chats pages. They parse what was typed and leave every rule (a
message to send when one is switched on, unique shortcuts and label names) to the
services."""

import uuid

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chats.models import MAX_TEXT, Conversation, InboxSettings, Label, QuickReply

# --- Inbox settings (chats/views/settings.py) -------------------------------------------


def _model_label(model, name: str):
    return capfirst(model._meta.get_field(name).verbose_name)


def _max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


class AutoRepliesForm(forms.Form):
    """The greeting and the away message."""

    greeting_enabled = forms.BooleanField(
        label=_model_label(InboxSettings, "greeting_enabled"),
        required=False,
        widget=forms.CheckboxInput(attrs={"role": "switch"}),
    )
    greeting_text = forms.CharField(
        label=_model_label(InboxSettings, "greeting_text"),
        required=False,
        max_length=_max_length(InboxSettings, "greeting_text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent once, when a customer writes to you for the first time."),
    )
    away_enabled = forms.BooleanField(
        label=_model_label(InboxSettings, "away_enabled"),
        required=False,
        widget=forms.CheckboxInput(attrs={"role": "switch"}),
    )
    away_text = forms.CharField(
        label=_model_label(InboxSettings, "away_text"),
        required=False,
        max_length=_max_length(InboxSettings, "away_text"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Sent when a customer writes while you are closed, at most once per "
            "conversation every 12 hours."
        ),
    )


class QuickReplyForm(forms.Form):
    shortcut = forms.CharField(
        label=_("Shortcut"),
        # One more than the model allows: the service drops a leading "/".
        max_length=_max_length(QuickReply, "shortcut") + 1,
        help_text=_("Letters, digits, hyphens and underscores, such as hello or price-list."),
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    text = forms.CharField(
        label=_("Text"),
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class LabelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=_max_length(Label, "name"))
    color = forms.ChoiceField(
        label=_("Color"), choices=Label.Color.choices, initial=Label.Color.GRAY
    )


# The click-to-chat link's optional parameters and how long each may be: longer values
# are cut, never refused (the builder is a GET form anyone can edit by hand).
CHAT_LINK_LIMITS = {
    "text": 500,
    "ref": 100,
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 100,
}


class ChatLinkForm(forms.Form):
    """The link builder. Unbound: it only shows the values the page was built from."""

    text = forms.CharField(
        label=_("Prefilled message"),
        required=False,
        max_length=CHAT_LINK_LIMITS["text"],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Typed into the customer's message box; they can change it before sending."),
    )
    ref = forms.CharField(
        label=_("Reference"),
        required=False,
        max_length=CHAT_LINK_LIMITS["ref"],
        help_text=_("Tells you where a conversation came from, such as shop-window or flyer."),
    )
    utm_source = forms.CharField(
        label=_("Campaign source (utm_source)"),
        required=False,
        max_length=CHAT_LINK_LIMITS["utm_source"],
    )
    utm_medium = forms.CharField(
        label=_("Campaign medium (utm_medium)"),
        required=False,
        max_length=CHAT_LINK_LIMITS["utm_medium"],
    )
    utm_campaign = forms.CharField(
        label=_("Campaign name (utm_campaign)"),
        required=False,
        max_length=CHAT_LINK_LIMITS["utm_campaign"],
    )


# --- Threads and the inbox ---------------------------------------------------------------


class SendForm(forms.Form):
    """The composer. Lengths and emptiness are checked by the services, which say so
    in the same words to the page, the socket and the API."""

    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    client_id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    product = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    image = forms.FileField(label=_("Attach a photo"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A fresh id in every rendered form: a double submit sends one message.
        self.fields["client_id"].initial = uuid.uuid4().hex
        self.fields["image"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"


class StartChatForm(forms.Form):
    """Click-to-chat's first message: the text (prefilled from the link), the product
    asked about, and the click's touch (``ref``, ``utm_*``, referrer) carried from
    the link to the Send, signed (``chats.views``)."""

    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    client_id = forms.CharField(required=False, widget=forms.HiddenInput, max_length=64)
    product = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    touch = forms.CharField(required=False, widget=forms.HiddenInput, max_length=8000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A fresh id in every rendered form: a double submit sends one message.
        self.fields["client_id"].initial = uuid.uuid4().hex


class DirectChatForm(forms.Form):
    who = forms.CharField(
        label=_("Friend's e-mail or phone"),
        max_length=254,
        help_text=_("The e-mail or phone number (+55…) they use on Conversa."),
    )


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Conversation.Status.choices],
    )
    scope = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("all", pgettext_lazy("conversations", "All")),
            ("mine", _("Mine")),
            ("unassigned", _("Unassigned")),
        ],
    )
    label = forms.TypedChoiceField(label=_("Label"), required=False, coerce=int, empty_value=None)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(self, *args, business, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].choices = [("", _("Any label"))] + [
            (label.pk, label.name) for label in Label.objects.filter(business=business)
        ]


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Private note"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only your team sees notes."),
    )

    def __init__(self, *args, **kwargs):
        # Its own ids: the message box beside it is ``id_body``.
        kwargs.setdefault("auto_id", "note_%s")
        super().__init__(*args, **kwargs)


class ReportForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ChatPreferencesForm(forms.Form):
    email_unread = forms.BooleanField(
        label=_("E-mail me when a business replies and I have not read it"), required=False
    )
