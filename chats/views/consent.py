"""The customer's offers switch in a shop chat: receive this business's offers, or
stop them (chats.services.consent; docs/marketing.md)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from chats import selectors
from chats.models import ConsentSource, Contact
from chats.services import consent


@login_required
@require_POST
def offers_consent(request, conversation_id: int):
    conversation = selectors.get_conversation_for(
        user=request.user, conversation_id=conversation_id
    )
    if conversation.membership is not None or conversation.contact_id is None:
        raise Http404  # the customer's own choice, in their own shop chat
    contact = Contact.objects.select_related("business").get(pk=conversation.contact_id)
    name = contact.business.name
    if request.POST.get("offers") == "1":
        consent.grant_offers_consent(
            customer=request.user, contact=contact, source=ConsentSource.CHAT
        )
        messages.success(request, _("You will receive offers from %(name)s.") % {"name": name})
    else:
        consent.withdraw_offers_consent(
            contact=contact, source=ConsentSource.CHAT, actor=request.user
        )
        messages.success(
            request, _("You will no longer receive offers from %(name)s.") % {"name": name}
        )
    return redirect("chat_thread", conversation_id=conversation.pk)
