"""What each pytest-xdist worker keeps to itself, set before Django reads its settings.

Loaded early, as a plugin (``-p tests.xdist_worker`` in pyproject's ``addopts``):
pytest-django imports the settings before any conftest, so a conftest would be too
late. Under ``pytest -n N`` each worker (``PYTEST_XDIST_WORKER``: gw0, gw1, …) is a
process of its own, with its own test database: pytest-django appends ``_gw0``… to
its name, PostgreSQL's (``test_conversa_gw0``) and SQLite's file alike
(``var/test.sqlite3_gw0``, which the servers and workers a test starts open through
``connection.settings_dict``). What the workers would still share is Redis: with
the same ``REDIS_KEY_PREFIX`` their cache (rate-limit counters, presence, the
sandbox gateway's charges and idempotency keys, all keyed by ids that each worker's
database hands out from 1 again), channel layer and Celery broker keys would meet.
So each worker appends its id to the prefix.

Everything else a test starts has its own already: a ``celery_worker`` or
``asgi_server`` gets a fresh ``VAR_DIR``, key prefix and a free port
(tests/celery_fixtures.py, tests/asgi_server.py), the fault tests a Redis of their
own on a free port, and uploads go to the test's ``tmp_path`` (conftest.py), which
pytest keeps apart per worker. What tests publish in-process without a worker lands
in the embedded broker's ``VAR_DIR/broker`` under unique file names, read by no one.
"""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker and not os.environ.get("REDIS_KEY_PREFIX", "").endswith(f"-{_worker}"):
    os.environ["REDIS_KEY_PREFIX"] = f"{os.environ.get('REDIS_KEY_PREFIX', 'conversa')}-{_worker}"
