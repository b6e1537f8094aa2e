"""The payment PIN's hash: scrypt, tuned to about 4 ms, over HMAC-SHA256(pepper, PIN).

Not an entry of ``PASSWORD_HASHERS``: account passwords keep Django's hashers, and
``services.pins`` uses this class directly for PINs (docs/payments.md, "PIN storage",
says why a PIN wants a cheap memory-hard hash behind a pepper rather than PBKDF2's
second of CPU).
"""

from django.contrib.auth.hashers import ScryptPasswordHasher


class PinScryptHasher(ScryptPasswordHasher):
    """scrypt with N = 2¹¹, r = 6, p = 1: 128·N·r = 1.5 MiB of memory and about 4 ms
    of CPU a hash on the project's 2-core machines (5 ms at most, measured, see
    docs/payments.md). The parameters are stored in every hash, so a later change
    verifies the old hashes and ``must_update`` rehashes them at their next use."""

    algorithm = "pin_scrypt"
    work_factor = 2**11
    block_size = 6
    parallelism = 1
