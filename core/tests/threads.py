"""Helpers of the PostgreSQL lock tests (``*/tests/test_locking.py``): real threads,
each with its own connection."""

import threading
import time

from django.db import connection, connections

WAIT = 5  # seconds


def in_thread(fn, outcome: dict, name: str) -> threading.Thread:
    """Start ``fn`` in a thread; ``outcome[name]`` becomes "ok" or the exception's repr."""

    def run():
        try:
            fn()
            outcome[name] = "ok"
        except Exception as exc:  # reported by the assertions
            outcome[name] = repr(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def someone_waits_for_a_lock() -> bool:
    """Whether, within ``WAIT`` seconds, a session of this database waits for a lock."""
    deadline = time.monotonic() + WAIT
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False
