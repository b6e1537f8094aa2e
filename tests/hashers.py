"""The password hasher of the test process (conftest.py's ``_fast_password_hasher``)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with one iteration: PBKDF2's cost (about a second a hash on these
    machines) is the point in production, not in the thousands of passwords the suite
    hashes. The algorithm name and format are the stock ones, and PBKDF2 reads the
    iteration count from the hash, so a password set in the test process is still
    checked by the servers and workers the test starts (tests/asgi_server.py,
    tests/celery_fixtures.py), whose settings keep the production hasher. (PINs have
    their own scrypt hasher, payments.hashers, whose hashes carry their parameters.)"""

    iterations = 1
