"""The built-in check-in keeps no text until the merchant edits it, so it is sent in
each customer's language (marketing.services.rule_text): clear the text of built-in
rules still holding the default text in English or Portuguese."""

from django.db import migrations

# The built-in text as it was created, in English and in Brazilian Portuguese.
DEFAULTS = [
    "Hi {first_name}! How is the {product} working out for you? "
    "Tap a rating from 1 to 5 to tell {business}.",
    "Oi, {first_name}! O que você está achando de {product}? "
    "Toque em uma nota de 1 a 5 para contar para {business}.",
]


def forwards(apps, schema_editor):
    rule = apps.get_model("marketing", "FollowUpRule")
    rule.objects.filter(is_default=True, text__in=DEFAULTS).update(text="")


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
