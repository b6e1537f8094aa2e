"""The operators' side: destinations masked in admin, pausing payouts, reconciliation
runs read-only."""

import pytest
from django.urls import reverse

from payments.models import PayoutControl
from payments.services import payouts, reconciliation
from payments.tests.payout_factories import add_bank, add_pix

pytestmark = pytest.mark.django_db


def test_admin_shows_destinations_masked(admin_client, owner, business):
    pix = add_pix(owner, business, "cpf", "529.982.247-25")
    bank = add_bank(owner, business)
    html = admin_client.get(reverse("admin:payments_payoutdestination_changelist")).content.decode()
    html += admin_client.get(
        reverse("admin:payments_payoutdestination_change", args=[bank.pk])
    ).content.decode()
    html += admin_client.get(
        reverse("admin:payments_payoutdestination_change", args=[pix.pk])
    ).content.decode()
    assert "•••.982.247-••" in html
    assert "52998224725" not in html and "123456" not in html


def test_an_operator_pauses_and_resumes_payouts(admin_client, business):
    response = admin_client.post(
        reverse("admin:payments_payoutcontrol_add"),
        {"business": business.pk, "paused": "on", "reason": "KYC review"},
    )
    assert response.status_code == 302
    assert payouts.pause_reason(business) == "KYC review"
    control = PayoutControl.objects.get()
    admin_client.post(
        reverse("admin:payments_payoutcontrol_changelist"),
        {"action": "resume", "_selected_action": [control.pk]},
    )
    assert payouts.pause_reason(business) is None


def test_reconciliation_runs_are_read_only(admin_client, db):
    run = reconciliation.run_reconciliation()
    assert (
        admin_client.get(reverse("admin:payments_reconciliationrun_changelist")).status_code == 200
    )
    page = admin_client.get(reverse("admin:payments_reconciliationrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert admin_client.get(reverse("admin:payments_reconciliationrun_add")).status_code == 403
