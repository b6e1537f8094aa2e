"""Every Celery task is in docs/outbox.md's table, with what its loss costs and what
recovers it; a task added without that thought fails here. And the broker's
visibility timeout stays above the longest countdown (docs/outbox.md)."""

import ast
from pathlib import Path

from django.conf import settings

APPS = (
    "accounts",
    "catalog",
    "chats",
    "core",
    "marketing",
    "payments",
    "insights",
    "webhooks",
    "privacy",
)


def _tasks() -> list[str]:
    found = []
    for app in APPS:
        path = Path(settings.BASE_DIR) / app / "tasks.py"
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and any(
                "shared_task" in ast.unparse(d) or "app.task" in ast.unparse(d)
                for d in node.decorator_list
            ):
                found.append(f"{app}.tasks.{node.name}")
    return found


def test_every_celery_task_is_in_the_loss_table():
    text = (Path(settings.BASE_DIR) / "docs" / "outbox.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    tasks = _tasks()
    assert "chats.tasks.send_due_unread_emails" in tasks
    assert [t for t in tasks if not any(f"`{t}`" in row for row in rows)] == []


def test_every_sweep_is_on_the_beat():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"chats.tasks.send_due_unread_emails", "core.tasks.send_due_emails"} <= scheduled


def test_the_visibility_timeout_outlasts_the_longest_countdown():
    if not settings.REDIS_URL:
        return  # the filesystem broker has no visibility timeout
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > settings.CHAT_UNREAD_EMAIL_DELAY + 60
    assert timeout > settings.PAYOUT_CONFIRM_DELAY + 60
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
