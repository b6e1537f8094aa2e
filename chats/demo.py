"""Demo chats (see accounts/demo.py and catalog/demo.py), made through the services:
Diego asks Padaria Aurora about a cake, Elisa talks to Maré Moda, Diego and Elisa
chat directly; the bakery has labels, quick replies and a greeting."""

from django.test import override_settings

from accounts.models import Business, User
from catalog.models import Product
from chats.services import conversations, inbox, messages
from chats.services import settings as chat_settings


def load_demo() -> None:
    users = {u.email: u for u in User.objects.all()}
    ana, bruno = users["ana@padaria-aurora.example"], users["bruno@padaria-aurora.example"]
    carla = users["carla@mare-moda.example"]
    diego, elisa = users["diego@example.com"], users["elisa@example.com"]
    aurora = Business.objects.get(slug="padaria-aurora")
    mare = Business.objects.get(slug="mare-moda")

    vip = chat_settings.create_label(actor=ana, business=aurora, name="Cliente fiel", color="green")
    chat_settings.create_label(actor=ana, business=aurora, name="Encomenda", color="yellow")
    chat_settings.save_quick_reply(
        actor=ana,
        business=aurora,
        shortcut="horario",
        text="Abrimos de terça a domingo, das 7h às 19h (domingo até 13h).",
    )
    chat_settings.save_quick_reply(
        actor=ana,
        business=aurora,
        shortcut="entrega",
        text="Entregamos em Pinheiros e Vila Madalena; a taxa é R$ 8,00.",
    )
    chat_settings.update_inbox_settings(
        actor=ana,
        business=aurora,
        greeting_enabled=True,
        greeting_text="Olá! Obrigada por falar com a Padaria Aurora. Já respondemos.",
    )

    # The demo is loaded in one go: lift the per-minute limit while it is.
    with override_settings(CHAT_MESSAGES_PER_MINUTE=10_000):
        cake = Product.objects.get(business=aurora, retailer_id="BOLO-CENOURA")
        chat, _created = conversations.start_conversation(
            customer=diego,
            business=aurora,
            first_touch={"ref": "instagram-bio", "utm_source": "instagram"},
        )
        messages.share_product(
            actor=diego,
            conversation=chat,
            product_id=cake.pk,
            body="Oi! Tem bolo de cenoura para sábado?",
        )
        messages.send_text(
            actor=bruno, conversation=chat, body="Oi Diego! Temos sim. Quantas fatias?"
        )
        messages.send_text(actor=diego, conversation=chat, body="Um bolo inteiro, por favor.")
        inbox.set_labels(actor=ana, conversation=chat, label_ids=[vip.pk])
        inbox.add_note(actor=ana, conversation=chat, body="Prefere retirar na loja.")

        chat2, _created = conversations.start_conversation(
            customer=elisa, business=mare, first_touch={"ref": "qr-vitrine"}
        )
        messages.send_text(
            actor=elisa, conversation=chat2, body="O vestido floral tem no tamanho M?"
        )
        messages.send_text(
            actor=carla, conversation=chat2, body="Tem sim, Elisa! Quer que eu separe?"
        )

        direct, _created = conversations.start_direct_conversation(user=diego, peer=elisa)
        messages.send_text(
            actor=elisa, conversation=direct, body="Diego, o café de sábado tá de pé?"
        )
        messages.send_text(actor=diego, conversation=direct, body="Tá sim! 10h na padaria.")
