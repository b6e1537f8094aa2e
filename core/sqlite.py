"""SQLite under ASGI (the embedded default)."""

import sqlite3
from pathlib import Path


def hold_wal_open(database: dict) -> sqlite3.Connection | None:
    """Open one idle connection to ``database`` (a ``DATABASES`` entry) for the
    process to keep; None when it is not a SQLite file that exists.

    Under ASGI Django opens a connection for each request and closes it at the end
    (each request runs in a thread of its own, and Django advises against persistent
    connections there). In WAL mode the last connection to close checkpoints the WAL
    and deletes it and its shared-memory index, and the next to open re-creates
    them: about 1-1.5 ms of CPU per request on the bench machine, more than the
    queries of a cached shop page (bench/README.md). While this connection is open a
    request's connection is never the last. It reads once, so that it counts as a
    reader of the WAL index, and then stays idle outside any transaction, so it
    never holds a checkpoint back. Closing it (or the process ending) is harmless."""
    if database.get("ENGINE") != "django.db.backends.sqlite3":
        return None
    name = str(database.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name).resolve()
    if not path.is_file():
        return None  # not migrated yet: nothing to hold
    connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True)
    connection.execute("SELECT count(*) FROM sqlite_master").fetchall()  # read to the end
    return connection
