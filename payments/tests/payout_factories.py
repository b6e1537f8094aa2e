"""Helpers for payout tests: destinations added through the services, wallet money
credited through the ledger, and running the tasks a service queues after commit."""

import contextlib

from payments.services import destinations, ledger

BANK = {
    "bank_code": "341",
    "branch": "1234",
    "branch_digit": "",
    "account_number": "12345-6",
    "account_digit": "7",
    "account_type": "checking",
    "holder_name": "Olga Owner",
    "holder_document": "529.982.247-25",
}
PIX_EMAIL = "caixa@padaria.example"


def add_pix(actor, business, key_type="email", key=PIX_EMAIL, **kwargs):
    return destinations.add_destination(
        actor=actor,
        business=business,
        kind="pix",
        data={"pix_key_type": key_type, "pix_key": key},
        **kwargs,
    )


def add_bank(actor, business, **change):
    return destinations.add_destination(
        actor=actor, business=business, kind="bank_account", data=BANK | change
    )


def credit_wallet(user, amount, currency="BRL"):
    """Put ``amount`` in ``user``'s wallet, as a person-to-person payment would (from
    the clearing account: a friend's card charge)."""
    return ledger.post(
        kind="test_wallet_credit",
        currency=currency,
        entries=[
            (ledger.clearing_account("sandbox", currency), -amount),
            (ledger.wallet_account(user, currency), amount),
        ],
        description="test credit",
    )


@contextlib.contextmanager
def run_on_commit_tasks(monkeypatch, capture):
    """Run the block's after-commit callbacks, with the Celery tasks they queue run
    in this process at once (``delay`` and ``apply_async``), as a worker would."""
    from core import tasks as core_tasks
    from payments import tasks

    for task in (tasks.send_destination_email, tasks.process_payout, core_tasks.send_email):
        monkeypatch.setattr(task, "delay", lambda *a, _t=task, **k: _t(*a, **k))
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args=(), kwargs=None, _t=task, **o: _t(*args, **(kwargs or {})),
        )
    with capture(execute=True):
        yield
