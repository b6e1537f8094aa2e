"""The retention job may delete ledger rows and audit events past the retention
period (docs/privacy.md, "Retention"; docs/payments.md, "Ledger"): the row guards of
0002 (the ledger) and 0006 (the audit trail) let a DELETE through when the
transaction-local setting ``conversa.retention = on`` is set — which only
``privacy.services.retention`` does, inside the transaction that replaces the deleted
postings by a summary posting. UPDATE stays refused always, and DELETE without the
setting, as before. The functions are replaced (``CREATE OR REPLACE``); the triggers
that call them are unchanged.

As with ``conversa.allow_truncate``, any role may set a custom setting: this guards
against mistakes and stray statements, not against someone at a psql prompt who means
it. SQLite has no triggers (0002).
"""

from django.db import migrations


def _function(name: str, label: str, *, allow_retention: bool) -> str:
    let_through = (
        """
    IF TG_OP = 'DELETE' AND current_setting('conversa.retention', true) = 'on' THEN
        RETURN OLD;
    END IF;"""
        if allow_retention
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{let_through}
    RAISE EXCEPTION '{label}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


# payments_ledger_refuse_change guards the ledger's entries and transactions (0002);
# conversa_refuse_change the audit events (0006). Their messages are kept as they were.
FORWARD = _function(
    "payments_ledger_refuse_change", "ledger rows are append-only", allow_retention=True
) + _function("conversa_refuse_change", "append-only table", allow_retention=True)
REVERSE = _function(
    "payments_ledger_refuse_change", "ledger rows are append-only", allow_retention=False
) + _function("conversa_refuse_change", "append-only table", allow_retention=False)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # RAISE uses a literal %

    return run


class Migration(migrations.Migration):
    dependencies = [("payments", "0010_pix")]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(REVERSE), elidable=False),
    ]
