"""Every row lock in the project is ``select_for_update(no_key=True)``.

A plain ``FOR UPDATE`` also blocks the foreign-key checks (``FOR KEY SHARE``) that
other transactions make at their commit, which turns ordinary lock waits into
deadlocks (payments/tests/test_locking.py, chats/tests/test_locking.py). Nothing here
locks a row to change its key; a ``DELETE`` after the lock takes the stronger lock
itself. A call that truly needs ``FOR UPDATE`` passes ``no_key=False`` explicitly."""

import ast
from pathlib import Path

from django.conf import settings

APPS = ("accounts", "catalog", "chats", "core", "marketing", "payments")


def _locks_without_no_key() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((Path(settings.BASE_DIR) / app).rglob("*.py")):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "select_for_update"
                    and "no_key" not in {k.arg for k in node.keywords}
                ):
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno}")
    return found


def test_every_row_lock_says_whether_it_blocks_foreign_key_checks():
    assert _locks_without_no_key() == []
