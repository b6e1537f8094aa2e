"""Consent records are append-only (LGPD art. 8's proof of consent):

- On PostgreSQL a trigger refuses every UPDATE of ``chats_consentrecord`` (SQLSTATE
  23001, an IntegrityError), but for the one Django makes when the acting user's row
  is deleted (``actor`` set to NULL, nothing else changed). A DELETE is refused by the
  model and its queryset; the rows go only with their contact (the ORM's cascade when
  a business is deleted). SQLite gets nothing: the model refuses in Python.
- The consents given or withdrawn before the log existed get one record each, dated
  when they happened, with an empty text and the version "before-log" (we do not know
  what was shown).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION chats_consentrecord_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
       AND NEW.id = OLD.id AND NEW.contact_id = OLD.contact_id
       AND NEW.purpose = OLD.purpose AND NEW.action = OLD.action
       AND NEW.source = OLD.source AND NEW.text = OLD.text
       AND NEW.text_version = OLD.text_version AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent records are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER chats_consentrecord_append_only
    BEFORE UPDATE ON chats_consentrecord
    FOR EACH ROW EXECUTE FUNCTION chats_consentrecord_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS chats_consentrecord_append_only ON chats_consentrecord;
DROP FUNCTION IF EXISTS chats_consentrecord_refuse_change();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # RAISE uses a literal %

    return run


def backfill(apps, schema_editor):
    Contact = apps.get_model("chats", "Contact")
    ConsentRecord = apps.get_model("chats", "ConsentRecord")
    rows = []
    for contact in Contact.objects.exclude(offers_consent_at=None, offers_opt_out_at=None):
        if contact.offers_opt_out_at is not None:
            rows.append(
                ConsentRecord(
                    contact_id=contact.pk,
                    action="withdrawn",
                    source=contact.offers_opt_out_source or "chat",
                    text_version="before-log",
                    created_at=contact.offers_opt_out_at,
                )
            )
        if contact.offers_consent_at is not None:
            rows.append(
                ConsentRecord(
                    contact_id=contact.pk,
                    action="given",
                    source=contact.offers_consent_source or "chat",
                    text_version="before-log",
                    created_at=contact.offers_consent_at,
                )
            )
    ConsentRecord.objects.bulk_create(rows, batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("chats", "0007_consent_records")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(REVERSE), elidable=False),
    ]
