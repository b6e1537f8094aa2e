"""Demo marketing data (after payments/demo.py): each business's built-in check-in
(3 days after delivery, with a rating) and Diego opted in to Padaria Aurora's offers
(as if he had ticked the box in the chat)."""

from accounts.models import Business, User
from chats.models import ConsentSource, Contact
from chats.services.consent import grant_offers_consent
from marketing import services


def load_demo() -> None:
    for business in Business.objects.all():
        services.ensure_default_rule(business)
    diego = User.objects.get(email="diego@example.com")
    contact = Contact.objects.get(business__slug="padaria-aurora", user=diego)
    grant_offers_consent(customer=diego, contact=contact, source=ConsentSource.CHAT)
