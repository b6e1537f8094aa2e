"""hold_wal_open: the WAL survives the per-request connections under ASGI."""

import sqlite3

from core.sqlite import hold_wal_open


def make_wal_database(path):
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.commit()
    setup.close()


def a_request(path):
    """What Django does for each request under ASGI: open, write, close."""
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO t VALUES (1)")
    connection.commit()
    connection.close()


def test_without_a_held_connection_each_request_deletes_the_wal(tmp_path):
    path = tmp_path / "db.sqlite3"
    make_wal_database(path)

    a_request(path)

    assert not (tmp_path / "db.sqlite3-wal").exists()


def test_a_held_connection_keeps_the_wal_between_requests(tmp_path):
    # given a database in WAL mode, held open by the process
    path = tmp_path / "db.sqlite3"
    make_wal_database(path)
    held = hold_wal_open({"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)})

    # when a request opens, writes and closes its own connection
    a_request(path)

    # then the WAL is still there for the next request, and the write is visible
    assert (tmp_path / "db.sqlite3-wal").exists()
    assert held.execute("SELECT count(*) FROM t").fetchone() == (1,)
    held.close()


def test_nothing_is_held_for_other_databases_or_a_missing_file(tmp_path):
    sqlite = "django.db.backends.sqlite3"
    assert hold_wal_open({"ENGINE": "django.db.backends.postgresql", "NAME": "x"}) is None
    assert hold_wal_open({"ENGINE": sqlite, "NAME": ":memory:"}) is None
    assert hold_wal_open({"ENGINE": sqlite, "NAME": str(tmp_path / "missing.sqlite3")}) is None
    assert not (tmp_path / "missing.sqlite3").exists()
