"""PostgreSQL checks the ledger's rules itself, so that no code path (a raw query, a
bug, a hand edit in psql) can break them:

- ``payments_ledgerentry`` and ``payments_ledgertransaction`` are append-only: a
  trigger refuses every UPDATE and DELETE (SQLSTATE 23001, an IntegrityError).
- A deferred constraint trigger checks at COMMIT that the entries of every
  transaction that received an entry sum to zero and are all in the transaction's
  currency (SQLSTATE 23514, an IntegrityError raised by the commit).

TRUNCATE is left alone: it is what test runs use to empty the database. SQLite gets
nothing; ``payments.services.ledger.post`` checks the same rules in Python.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payments_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER payments_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_refuse_change();

CREATE TRIGGER payments_ledgertransaction_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgertransaction
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_refuse_change();

CREATE FUNCTION payments_ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    foreign_currency bigint;
BEGIN
    SELECT COALESCE(SUM(e.amount), 0), COUNT(*) FILTER (WHERE a.currency <> t.currency)
      INTO total, foreign_currency
      FROM payments_ledgerentry e
      JOIN payments_ledgeraccount a ON a.id = e.account_id
      JOIN payments_ledgertransaction t ON t.id = e.transaction_id
     WHERE e.transaction_id = NEW.transaction_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: its entries sum to %',
            NEW.transaction_id, total USING ERRCODE = 'check_violation';
    END IF;
    IF foreign_currency > 0 THEN
        RAISE EXCEPTION 'ledger transaction % has entries in another currency',
            NEW.transaction_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER payments_ledgerentry_balanced
    AFTER INSERT ON payments_ledgerentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_check_balanced();
"""

REVERSE = """
DROP TRIGGER IF EXISTS payments_ledgerentry_balanced ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_check_balanced();
DROP TRIGGER IF EXISTS payments_ledgertransaction_append_only ON payments_ledgertransaction;
DROP TRIGGER IF EXISTS payments_ledgerentry_append_only ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_refuse_change();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # RAISE uses a literal %

    return run


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(REVERSE), elidable=False),
    ]
