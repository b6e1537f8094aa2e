"""Conversa settings: one module, driven by the environment (django-environ).

With no environment at all Conversa runs on the *embedded default*: SQLite under
``var/``, an in-memory channel layer, a local-memory cache, a Celery broker on the
filesystem (no server) and e-mail written to files under ``var/mail``. Setting
``DATABASE_URL``, ``REDIS_URL`` and ``SMTP_URL`` switches each part to its
production counterpart. Every variable is listed in README.md.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

env = environ.Env()

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is off.")
    SECRET_KEY = "insecure-embedded-default-key-only-for-local-development"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
# What e-mails and pages call the site (never a host and port): the operator may rename it.
SITE_NAME = env.str("SITE_NAME", default="Conversa")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "allauth",
    "allauth.account",
    "core",
    "accounts",
    "catalog",
    "chats",
    "payments",
    "marketing",
    "insights",
    "webhooks",
    "privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.StaticFilesMiddleware",  # WhiteNoise
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Reads the session's user first, to answer a quick 503 while the database is
    # unreachable (docs/architecture.md, "Outages").
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.HtmxRedirectMiddleware",
    # At the bottom: it needs only the user; sync-only, here it keeps the whole stack in
    # one thread under ASGI (in the middle: a thread hop per hook, ~0.5 ms a request).
    "accounts.middleware.UserLanguageMiddleware",
    # Below the language: its 400 page speaks the user's.
    "core.middleware.AdminNulCharacterMiddleware",
]
if DEBUG:
    # The development server opened at 127.0.0.1 sends the browser to SITE_URL's
    # "localhost": fingerprints (WebAuthn) work only on a domain, never on an IP address.
    MIDDLEWARE.insert(1, "core.middleware.LoopbackToSiteMiddleware")

ROOT_URLCONF = "config.urls"
# A business's public profile is the shop page (catalog's view); accounts' model
# cannot name a higher app's URL, the project can (docs/architecture.md, "Layers").
ABSOLUTE_URL_OVERRIDES = {
    "accounts.business": lambda business: reverse("business_profile", args=[business.slug]),
}
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "core.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'conversa.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web server and the Celery worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not memory, so that a Celery worker started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    # ASGI runs each request in its own thread, so CONN_MAX_AGE never reuses a
    # connection: psycopg's pool keeps them per process (DATABASE_POOL_MAX_SIZE=0: off,
    # e.g. behind PgBouncer). Failing fast when PostgreSQL is down (docs/architecture.md,
    # "Outages"): connect_timeout (s) and tcp_user_timeout (ms) instead of the kernel's
    # ~15 minutes of retransmissions; DATABASE_URL's query string wins.
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": 2,
        "tcp_user_timeout": 2000,
        **DATABASES["default"].get("OPTIONS", {}),
    }
    _pool_max_size = env.int("DATABASE_POOL_MAX_SIZE", default=10)
    if _pool_max_size > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(2, _pool_max_size),
            "max_size": _pool_max_size,
            # How long a request waits for a connection before it is answered 503:
            # while the database is down the pool has none to give, and a longer wait
            # only queues requests behind each other.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=1.5),
            # Past this many requests waiting for a connection, the next one is refused
            # at once (psycopg_pool's TooManyRequests, a 503) instead of queueing.
            "max_waiting": env.int("DATABASE_POOL_MAX_WAITING", default=5 * _pool_max_size),
            # The pool's own retries back off for minutes after a long outage; giving
            # up after 2 s lets the next request try at once (service returns with it).
            "reconnect_timeout": 2,
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A connection is checked before use (with the pool: each time it is handed out).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker --------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Every key Conversa keeps in Redis starts with this, so that several deployments (or
# test runs) can share one Redis database without reading each other's cache entries
# or taking each other's Celery tasks.
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="conversa")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one client per process (core/cache.py says why).
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's layer with group sends in two round trips (the module
            # says why); the same keys and format as channels_redis's own.
            "BACKEND": "core.channel_layer.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool refuses a connection past its limit instead
                # of waiting: a burst of sockets closing or reconnecting (a deploy)
                # needs room, or their group_discard fails.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("CHANNEL_REDIS_MAX_CONNECTIONS", 1000),
                        # Longer than the layer's 5 s blocking read (BZPOPMIN): with
                        # redis-py 8's default of 5 s, every read on an idle channel
                        # timed out first and the socket waiting on it was closed.
                        "socket_timeout": 15,
                    }
                ],
                "prefix": REDIS_KEY_PREFIX,
                # Messages waiting per Redis key; all the sockets of one server
                # process share one key, so channels_redis's default of 100 dropped
                # messages (silently) as soon as a process fell 100 events behind.
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", 2000),
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "global_keyprefix": f"{REDIS_KEY_PREFIX}:",
        # Seconds before Redis gives an unacknowledged message to another worker: longer
        # than the longest run plus the longest countdown (CHAT_UNREAD_EMAIL_DELAY,
        # checked below; acks_late), or a task runs twice. A long one only delays a
        # killed worker's message; the rows a beat sweep finds are the truth (outbox.md).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60),
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

# Rendered parts, per process (no round trip; a deploy starts empty), under keys of
# what they show: the public shop and product pages (~30 KB, by catalog version), the
# inbox's and chat list's rows and the thread's messages (~1 KB each), so a few MB.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "conversa-fragments",
    "TIMEOUT": 24 * 60 * 60,
    "OPTIONS": {"MAX_ENTRIES": 5000},
}

# Acknowledged after the task ran, and given back to the broker when its worker dies
# (SIGKILL, OOM): a task is run at least once, never "taken and lost". Every task is
# idempotent (row locks, statuses, dedupe keys), so a second run is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# When the broker connection drops, the running acks_late tasks' messages will be
# delivered again, so Celery cancels those runs rather than let them race their own
# redelivery (the default from Celery 6 on; 5.x warns without it).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "expire-invitations": {
        "task": "accounts.tasks.expire_invitations",
        "schedule": 15 * 60,
    },
    "expire-orders": {
        "task": "payments.tasks.expire_orders",
        "schedule": 60,
    },
    "purge-payment-records": {
        "task": "payments.tasks.purge_stale_records",
        "schedule": 60 * 60,
    },
    "run-payouts": {
        "task": "payments.tasks.run_payouts",
        "schedule": env.int("PAYOUT_INTERVAL", default=60 * 60),
    },
    "reconcile": {
        "task": "payments.tasks.reconcile",
        "schedule": crontab(hour=3, minute=30),  # UTC: the quiet hours in Brazil
    },
    "retry-pending-refunds": {
        "task": "payments.tasks.retry_pending_refunds",
        "schedule": 60,
    },
    # Payments and payouts whose process died between the gateway or bank call and
    # its settlement (docs/payments.md, "Recovery").
    "recover-stranded-money": {
        "task": "payments.tasks.recover_stranded_money",
        "schedule": 60,
        "options": {"expires": 120},
    },
    # Collected Pix: expired charges canceled at the provider, anomalies' returns retried.
    "sweep-pix": {
        "task": "payments.tasks.sweep_pix",
        "schedule": 60,
        "options": {"expires": 120},
    },
}

# --- Chats ----------------------------------------------------------------------
# Messages one user may send per minute, and how long after a business's reply an
# unread customer gets one e-mail about it (replies in between join the same one).
CHAT_MESSAGES_PER_MINUTE = env.int("CHAT_MESSAGES_PER_MINUTE", default=30)
CHAT_UNREAD_EMAIL_DELAY = env.int("CHAT_UNREAD_EMAIL_DELAY", default=10 * 60)
# That e-mail is a row (Participant.email_due_at) the beat sends when due, so a lost task
# loses nothing; a sender's lease outlasts an SMTP exchange; failures retry, doubling
# (docs/outbox.md).
CHAT_UNREAD_EMAIL_SWEEP_INTERVAL = env.float("CHAT_UNREAD_EMAIL_SWEEP_INTERVAL", default=30.0)
CHAT_UNREAD_EMAIL_BATCH = env.int("CHAT_UNREAD_EMAIL_BATCH", default=200)
CHAT_UNREAD_EMAIL_LEASE = env.float("CHAT_UNREAD_EMAIL_LEASE", default=5 * 60)
CHAT_UNREAD_EMAIL_RETRY_BASE = env.int("CHAT_UNREAD_EMAIL_RETRY_BASE", default=60)
CHAT_UNREAD_EMAIL_MAX_ATTEMPTS = env.int("CHAT_UNREAD_EMAIL_MAX_ATTEMPTS", default=5)
if REDIS_URL and CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= (
    CHAT_UNREAD_EMAIL_DELAY + 60
):
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must exceed CHAT_UNREAD_EMAIL_DELAY by more than a "
        "minute: a task waiting for its countdown would be delivered twice."
    )
CELERY_BEAT_SCHEDULE["send-due-unread-emails"] = {
    "task": "chats.tasks.send_due_unread_emails",
    "schedule": CHAT_UNREAD_EMAIL_SWEEP_INTERVAL,
    "options": {"expires": max(30.0, 3 * CHAT_UNREAD_EMAIL_SWEEP_INTERVAL)},
}
# Seconds: the inbox and chat-list updates of messages sent on sockets go out at most
# once per list per window, merged (chats.send_queue.ListEvents); 0 sends each at once.
CHAT_LIST_EVENT_WINDOW = env.float("CHAT_LIST_EVENT_WINDOW", default=0.25)
# Transactions writing socket sends at once per process, and sends per transaction at
# most (chats.send_queue.SendQueue): sends arriving while they are busy wait for the
# next. 1 writer, 50 measured best (bench/README.md, chat.py).
CHAT_SEND_WRITERS = env.int("CHAT_SEND_WRITERS", default=1)
CHAT_SEND_BATCH = env.int("CHAT_SEND_BATCH", default=50)

# --- Outbox (automated messages; docs/outbox.md) -------------------------------------
# The beat sends due scheduled messages in batches; failures retry, doubling, and the
# row is failed (Django admin) after OUTBOX_MAX_ATTEMPTS.
OUTBOX_DISPATCH_INTERVAL = env.float("OUTBOX_DISPATCH_INTERVAL", default=5.0)
OUTBOX_BATCH = env.int("OUTBOX_BATCH", default=200)
# …OUTBOX_CHUNK rows per transaction, their messages appended together.
OUTBOX_CHUNK = env.int("OUTBOX_CHUNK", default=50)
OUTBOX_RETRY_BASE = env.int("OUTBOX_RETRY_BASE", default=30)
OUTBOX_RETRY_MAX = env.int("OUTBOX_RETRY_MAX", default=60 * 60)
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=6)
OUTBOX_MAX_DELAY_DAYS = env.int("OUTBOX_MAX_DELAY_DAYS", default=366)
CELERY_BEAT_SCHEDULE["dispatch-scheduled-messages"] = {
    "task": "chats.tasks.dispatch_scheduled_messages",
    "schedule": OUTBOX_DISPATCH_INTERVAL,
    # A run the broker could not deliver in time is dropped: the next one does its work.
    "options": {"expires": max(30.0, 3 * OUTBOX_DISPATCH_INTERVAL)},
}
# --- Insights (campaigns and attribution; docs/insights.md) --------------------------
# Clicks on tracked links are buffered (Redis, or the web process on the embedded
# default) and written every TOUCH_FLUSH_INTERVAL seconds: by the beat with Redis, by
# a timer in the web process on the embedded default.
TOUCH_FLUSH_INTERVAL = env.float("TOUCH_FLUSH_INTERVAL", default=5.0)
CELERY_BEAT_SCHEDULE["flush-touches"] = {
    "task": "insights.tasks.flush_touches",
    "schedule": max(1.0, TOUCH_FLUSH_INTERVAL),
    "options": {"expires": max(30.0, 3 * TOUCH_FLUSH_INTERVAL)},
}
# The reports' rollups fold in what changed every ROLLUP_REFRESH_INTERVAL seconds, so
# today's figures are at most about that old (insights.services.rollups).
ROLLUP_REFRESH_INTERVAL = env.float("ROLLUP_REFRESH_INTERVAL", default=30.0)
CELERY_BEAT_SCHEDULE["refresh-rollups"] = {
    "task": "insights.tasks.refresh_rollups",
    "schedule": max(1.0, ROLLUP_REFRESH_INTERVAL),
    "options": {"expires": max(30.0, 2 * ROLLUP_REFRESH_INTERVAL)},
}
# With the in-memory channel layer (embedded default) the web process pushes the
# socket events that Celery workers write to the database (chats.relay).
CHAT_EVENT_RELAY = env.bool("CHAT_EVENT_RELAY", default=True)

# --- Payments -------------------------------------------------------------------
# The card gateway: "sandbox" (built in: Stripe's test cards, no network) or "stripe"
# (PaymentIntents; needs STRIPE_SECRET_KEY).
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="sandbox")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Pix (docs/pix.md, README's settings table): the provider, the callback's secret, the
# longest a charge stays payable, where the sandbox bank posts (empty: its own origin).
PIX_PROVIDER = env.str("PIX_PROVIDER", default="sandbox")
PIX_CALLBACK_SECRET = env.str("PIX_CALLBACK_SECRET", default="")
if not PIX_CALLBACK_SECRET:
    if not DEBUG:
        raise ImproperlyConfigured("Set PIX_CALLBACK_SECRET when DEBUG is off.")
    PIX_CALLBACK_SECRET = "insecure-embedded-default-pix-secret-for-local-development"  # noqa: S105
PIX_CHARGE_MAX_SECONDS = env.int("PIX_CHARGE_MAX_SECONDS", default=24 * 60 * 60)
PIX_SANDBOX_CALLBACK_BASE = env.str("PIX_SANDBOX_CALLBACK_BASE", default="")
PIX_CALLBACK_RATE_LIMIT = env.str("PIX_CALLBACK_RATE_LIMIT", default="120/m/ip")
# The PIN pepper: PINs are stored as a scrypt hash of HMAC(pepper, PIN), so a copy of
# the database alone does not let anyone search the 10^6 PINs offline. Keep it out of
# the database and its backups; changing it invalidates every PIN.
PAYMENT_PIN_PEPPER = env.str("PAYMENT_PIN_PEPPER", default="")
if not PAYMENT_PIN_PEPPER:
    if not DEBUG:
        raise ImproperlyConfigured("Set PAYMENT_PIN_PEPPER when DEBUG is off.")
    PAYMENT_PIN_PEPPER = "insecure-embedded-default-pepper-only-for-local-development"
# PIX_PROVIDER="bacen": a PSP's Bacen Pix API (OAuth2, mTLS with these PEM files).
PIX_BACEN_API_URL = env.str("PIX_BACEN_API_URL", default="")
PIX_BACEN_TOKEN_URL = env.str("PIX_BACEN_TOKEN_URL", default="")
PIX_BACEN_CLIENT_ID = env.str("PIX_BACEN_CLIENT_ID", default="")
PIX_BACEN_CLIENT_SECRET = env.str("PIX_BACEN_CLIENT_SECRET", default="")
PIX_BACEN_CERT = env.str("PIX_BACEN_CERT", default="")
PIX_BACEN_KEY = env.str("PIX_BACEN_KEY", default="")
PIX_KEY = env.str("PIX_KEY", default="")
PIX_MERCHANT_CITY = env.str("PIX_MERCHANT_CITY", default="SAO PAULO")
# WebAuthn relying party: the site's host name, and the origins browsers report.
WEBAUTHN_RP_ID = env.str(
    "WEBAUTHN_RP_ID", default=SITE_URL.split("://", 1)[-1].split(":")[0].split("/")[0]
)
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Conversa")
# Payouts: the bank that sends them ("sandbox": built in, no network), the smallest
# amount paid out or withdrawn (minor units: R$10.00), and how long after a payout
# is created its confirmation is asked for (seconds).
PAYOUT_BANK = env.str("PAYOUT_BANK", default="sandbox")
PAYOUT_MINIMUM = env.int("PAYOUT_MINIMUM", default=1000)
PAYOUT_CONFIRM_DELAY = env.int("PAYOUT_CONFIRM_DELAY", default=5)
# Recovery (docs/payments.md, "Recovery"), seconds after a claim: look a pending payment
# up at the gateway; fail one the gateway never charged; give up a 3-D Secure challenge.
PAYMENT_RECOVERY_GRACE = env.int("PAYMENT_RECOVERY_GRACE", default=60)
PAYMENT_RECOVERY_ABANDON_AFTER = env.int("PAYMENT_RECOVERY_ABANDON_AFTER", default=10 * 60)
PAYMENT_ACTION_TIMEOUT = env.int("PAYMENT_ACTION_TIMEOUT", default=30 * 60)
# Seconds an API request holds its Idempotency-Key before a retry may take it over.
IDEMPOTENCY_LEASE = env.int("IDEMPOTENCY_LEASE", default=30)
# Reconciliation asks the card gateway about the succeeded payments of the last N
# days (the sandbox keeps its charges for 7).
RECONCILE_GATEWAY_DAYS = env.int("RECONCILE_GATEWAY_DAYS", default=3)
# The one reminder of an unpaid payment request, this many seconds before it expires
# (none when that moment has already passed).
PAYMENT_REMINDER_BEFORE = env.int("PAYMENT_REMINDER_BEFORE", default=3 * 60 * 60)
# Marketing (docs/marketing.md): how many seconds a follow-up rule's "day" lasts (tests
# and the demo make it a second), and how many broadcast messages a second the outbox
# is given (a broadcast's messages are due one after another at this rate).
FOLLOWUP_DAY_SECONDS = env.int("FOLLOWUP_DAY_SECONDS", default=86400)
BROADCAST_MESSAGES_PER_SECOND = env.float("BROADCAST_MESSAGES_PER_SECOND", default=200.0)
# How many dispatchers a large bulk scheduling (a broadcast) starts at once, so that
# a worker's processes share the backlog (chats.services.outbox_bulk).
OUTBOX_BULK_DISPATCHERS = env.int("OUTBOX_BULK_DISPATCHERS", default=2)
# A broadcast is sent BROADCAST_BATCH offers per transaction (marketing.tasks); the beat
# looks for broadcasts to start every BROADCAST_BEAT_INTERVAL seconds.
BROADCAST_BATCH = env.int("BROADCAST_BATCH", default=50)
BROADCAST_BEAT_INTERVAL = env.int("BROADCAST_BEAT_INTERVAL", default=15)
CELERY_BEAT_SCHEDULE["start-due-broadcasts"] = {
    "task": "marketing.tasks.start_due_broadcasts",
    "schedule": BROADCAST_BEAT_INTERVAL,
    "options": {"expires": 3 * BROADCAST_BEAT_INTERVAL},
}

# --- Webhooks (docs/webhooks.md; README's settings table) ---------------------------
WEBHOOKS_DISPATCH_INTERVAL = env.float("WEBHOOKS_DISPATCH_INTERVAL", default=5.0)
CELERY_BEAT_SCHEDULE["dispatch-webhooks"] = {
    "task": "webhooks.tasks.dispatch_due_deliveries",
    "schedule": max(1.0, WEBHOOKS_DISPATCH_INTERVAL),
    "options": {"expires": max(30.0, 3 * WEBHOOKS_DISPATCH_INTERVAL)},
}
CELERY_BEAT_SCHEDULE["purge-webhook-log"] = {
    "task": "webhooks.tasks.purge_old_events",
    "schedule": 3600,
}
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=15.0)
# Seconds before each retry of a failed delivery: 10 attempts in all over ~3 days.
_RETRIES = "5,300,1800,7200,18000,36000,50400,72000,86400"
WEBHOOKS_RETRY_SCHEDULE = [int(s) for s in env.str("WEBHOOKS_RETRY_SCHEDULE", _RETRIES).split(",")]
WEBHOOKS_RETENTION_DAYS = env.int("WEBHOOKS_RETENTION_DAYS", default=30)
# Private CIDRs an operator allows on purpose, e.g. "10.1.2.0/24,fd00::/8".
WEBHOOKS_ALLOWED_NETWORKS = env.list("WEBHOOKS_ALLOWED_NETWORKS", default=[])
# "Does this business have an endpoint?" in the shared cache (Redis; embedded: the DB).
WEBHOOKS_CACHE_ENDPOINTS = bool(REDIS_URL)

# --- E-mail (Django 6.1 MAILERS) ------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Conversa <no-reply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
SMTP_URL = env.str("SMTP_URL", default="")
if SMTP_URL:
    # smtp://user:pass@host:587/?tls=1 (STARTTLS) or ?ssl=1 (implicit TLS, port 465).
    # django-environ's own spellings work too: smtp+tls://, smtp+ssl://, smtps://,
    # ?email_use_tls=1. Its parser keeps flag values as strings ("False" would be
    # truthy to bool()) and silently ignores unknown flags, so both are checked here.
    _smtp = environ.Env.email_url_config(SMTP_URL)
    _smtp_flags = {k.lower(): v for k, v in (_smtp.get("OPTIONS") or {}).items()}

    def _smtp_flag(value) -> bool:
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"", "0", "false", "no", "off", "none"}:
            return False
        raise ImproperlyConfigured(f"SMTP_URL: {value!r} is not a yes/no value.")

    _smtp_tls = _smtp_flag(_smtp.get("EMAIL_USE_TLS", "")) or _smtp_flag(_smtp_flags.pop("tls", ""))
    _smtp_ssl = _smtp_flag(_smtp.get("EMAIL_USE_SSL", "")) or _smtp_flag(_smtp_flags.pop("ssl", ""))
    _smtp_timeout = int(_smtp_flags.pop("timeout", 10))
    if _smtp_flags:
        raise ImproperlyConfigured(
            f"SMTP_URL: unknown option(s) {sorted(_smtp_flags)}; use tls, ssl or timeout."
        )
    if _smtp_tls and _smtp_ssl:
        raise ImproperlyConfigured("SMTP_URL: choose tls (STARTTLS) or ssl, not both.")
    if not _smtp.get("EMAIL_HOST"):
        raise ImproperlyConfigured("SMTP_URL has no host.")
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp["EMAIL_HOST"],
                "port": _smtp.get("EMAIL_PORT") or (465 if _smtp_ssl else 587),
                "username": _smtp.get("EMAIL_HOST_USER") or None,
                "password": _smtp.get("EMAIL_HOST_PASSWORD") or None,
                "use_tls": _smtp_tls,
                "use_ssl": _smtp_ssl,
                "timeout": _smtp_timeout,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# E-mails that must not be lost (core.mail, docs/outbox.md) are rows the beat sends when
# due; failures retry, doubling, then the row is failed (Django admin).
MAIL_SWEEP_INTERVAL = env.float("MAIL_SWEEP_INTERVAL", default=30.0)
MAIL_LEASE = env.float("MAIL_LEASE", default=5 * 60)
MAIL_RETRY_BASE = env.int("MAIL_RETRY_BASE", default=60)
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=8)
CELERY_BEAT_SCHEDULE["send-due-emails"] = {
    "task": "core.tasks.send_due_emails",
    "schedule": MAIL_SWEEP_INTERVAL,
    "options": {"expires": max(30.0, 3 * MAIL_SWEEP_INTERVAL)},
}

# --- Auth (django-allauth) ------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"  # members go to their businesses (AccountAdapter)
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "signup": "accounts.forms.SignupForm",
    "change_password": "accounts.forms.ChangePasswordForm",
    "reset_password_from_key": "accounts.forms.ResetPasswordKeyForm",
}
# Sign-up, reset and sign-in mails are queued and sent by a worker (core.mail),
# so that no request's duration tells whether a mail went out (issue #15 item 7).
ACCOUNT_PREVENT_ENUMERATION = True
# Failed sign-ins (accounts.throttle, docs/accounts.md): 5 per 5 minutes for one account
# from one address ("key" is the account and the address together), and 20 per 5
# minutes from one address whatever the accounts; an attacker cannot lock an owner out
# from elsewhere. Counted in the cache (Redis in production).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="20/5m/ip,5/5m/key"),
}
# Client addresses: REMOTE_ADDR, or, behind N trusted reverse proxies, the address
# the outermost one saw (X-Forwarded-For); read by accounts.throttle.client_ip only.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"

# --- Internationalisation ---------------------------------------------------------
LANGUAGE_CODE = "pt-br"
LANGUAGES = [
    ("pt-br", _("Portuguese (Brazil)")),
    ("en", _("English")),
    ("fr", _("French")),
    ("es", _("Spanish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One time format per language, everywhere (config/formats/en: "11:39 PM", pt-br: "23:39").
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365  # a visitor's choice outlives the browser session
TIME_ZONE = "America/Sao_Paulo"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Serve uploaded files from Django itself (fine for one host; put a CDN or nginx in
# front in larger deployments and set SERVE_MEDIA=0).
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- API ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Conversa API",
    "DESCRIPTION": "Shops, catalogs, chats and payments. Authenticate with a personal "
    "API token: `Authorization: Bearer cv_…`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CardConfirmationEnum": "payments.serializers.paying.CARD_CONFIRMATIONS",
        "PaymentConfirmationEnum": "payments.models.paying.Payment.Confirmation",
    },
}

# --- Security ----------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Conversa's own limits (see the business profile rules in docs/architecture.md).
INVITATION_TTL_DAYS = 7

# --- Privacy (LGPD: docs/privacy.md) ----------------------------------------------
# Exports: never under MEDIA_ROOT (only the download view serves them, to the asker).
PRIVACY_EXPORT_DIR = env.str("PRIVACY_EXPORT_DIR", default=str(VAR_DIR / "privacy-exports"))
PRIVACY_EXPORT_TTL_DAYS = env.int("PRIVACY_EXPORT_TTL_DAYS", default=7)
PRIVACY_EXPORTS_PER_DAY = env.int("PRIVACY_EXPORTS_PER_DAY", default=3)
# Days an erased account's financial records keep their details; unset: the tax rule
# (CTN art. 173: to the end of the fifth calendar year after the record).
FINANCIAL_RETENTION_DAYS = env.int("FINANCIAL_RETENTION_DAYS", default=None)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "privacy.tasks.apply_retention",
    "schedule": crontab(hour=4, minute=15),
}
CELERY_BEAT_SCHEDULE["privacy-expire-exports"] = {
    "task": "privacy.tasks.expire_exports",
    "schedule": 3600,
}
