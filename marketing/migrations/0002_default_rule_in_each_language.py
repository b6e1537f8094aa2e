"""The built-in check-in keeps no text until the merchant edits it, so it is sent in
each customer's language (marketing.services.rule_text): clear the text of built-in
rules still holding the default text in English or Portuguese."""

from django.db import migrations
from django.utils import translation

DEFAULT = (
    "Hi {first_name}! How is the {product} working out for you? "
    "Tap a rating from 1 to 5 to tell {business}."
)


def forwards(apps, schema_editor):
    rule = apps.get_model("marketing", "FollowUpRule")
    texts = {DEFAULT}
    with translation.override("pt-br"):
        texts.add(translation.gettext(DEFAULT))
    rule.objects.filter(is_default=True, text__in=texts).update(text="")


class Migration(migrations.Migration):
    dependencies = [("marketing", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
