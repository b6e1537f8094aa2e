"""A real Celery worker process runs a real task against the test database.

The worker (``celery_worker``, in ``tests/celery_fixtures.py``) is ``celery -A config
worker`` as the Procfile starts it, given the test database in its environment, on
broker keys or folders of its own.
"""

import datetime

from django.utils import timezone

from accounts import services
from accounts.models import Invitation, User
from accounts.tasks import expire_invitations
from tests.celery_fixtures import TASK_TIMEOUT, wait_for


def _invite(owner: User, business, email: str):
    invitation, _key = services.invite_member(
        actor=owner, business=business, email=email, role="agent"
    )
    return invitation


def test_a_real_worker_purges_stale_invitations(celery_worker, monkeypatch):
    owner = User.objects.create_user("owner@example.com", "pw-owner-123456")
    business = services.create_business(user=owner, name="Loja Lua", slug="loja-lua")
    fresh = _invite(owner, business, "fresh@example.com")
    # Invited 47 days ago: its 7 days ran out 40 days ago.
    long_ago = timezone.now() - datetime.timedelta(days=47)
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: long_ago)
        stale = _invite(owner, business, "stale@example.com")
    assert stale.expires_at < timezone.now() - datetime.timedelta(days=39)

    result = expire_invitations.delay()

    gone = wait_for(lambda: not Invitation.objects.filter(pk=stale.pk).exists(), TASK_TIMEOUT)
    log = celery_worker.read_text(errors="replace")
    assert gone, f"the worker did not purge the stale invitation in {TASK_TIMEOUT}s:\n{log[-4000:]}"
    assert Invitation.objects.filter(pk=fresh.pk).exists()
    assert wait_for(
        lambda: f"[{result.id}] succeeded" in celery_worker.read_text(errors="replace"), 10
    ), celery_worker.read_text(errors="replace")[-4000:]
