"""PostgreSQL refuses ``TRUNCATE`` of the append-only tables, as it refuses their
UPDATE and DELETE: the row triggers of 0002 do not fire on TRUNCATE, which emptied the
ledger in one statement. A ``BEFORE TRUNCATE … FOR EACH STATEMENT`` trigger on:

- ``payments_ledgerentry`` and ``payments_ledgertransaction`` (the ledger);
- ``payments_auditevent`` (every order and payment state change), which also gets a
  row guard like the ledger's (UPDATE and DELETE refused, SQLSTATE 23001) that it
  lacked.

The one way through is the transaction-local setting ``conversa.allow_truncate = on``
(``SET LOCAL``): the test suite sets it around Django's flush, which empties the
database with TRUNCATE between transactional tests (the root conftest.py). Nothing in
the application sets it. Any role can set a custom setting, so this guards against
mistakes and stray statements, not against someone with a psql prompt who means it
(who could also drop the trigger).

SQLite has no TRUNCATE (``DELETE FROM`` is the nearest, and Django's flush uses it);
it gets no triggers, as in 0002: ``payments.services.ledger`` is the only writer.
"""

from django.db import migrations

APPEND_ONLY = ("payments_ledgerentry", "payments_ledgertransaction", "payments_auditevent")

FORWARD = (
    """
CREATE FUNCTION conversa_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('conversa.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'append-only table: TRUNCATE of % refused', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE FUNCTION conversa_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append-only table: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER payments_auditevent_append_only
    BEFORE UPDATE OR DELETE ON payments_auditevent
    FOR EACH ROW EXECUTE FUNCTION conversa_refuse_change();
"""
    + "".join(
        f"""
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION conversa_refuse_truncate();
"""
        for table in APPEND_ONLY
    )
)

REVERSE = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n" for table in APPEND_ONLY)
    + """
DROP TRIGGER IF EXISTS payments_auditevent_append_only ON payments_auditevent;
DROP FUNCTION IF EXISTS conversa_refuse_change();
DROP FUNCTION IF EXISTS conversa_refuse_truncate();
"""
)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # RAISE uses a literal %

    return run


class Migration(migrations.Migration):
    dependencies = [("payments", "0005_shipping")]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(REVERSE), elidable=False),
    ]
