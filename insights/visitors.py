"""Who a touch came from, without cookies and without storing an IP address, and what
the link said (docs/insights.md, "Visitors").

- :func:`is_bot`: crawlers, link previewers (the card a chat app draws for a pasted
  link), uptime checks and scripts are not visitors; their hits are not counted.
- :func:`visitor_hash`: an anonymous visitor is ``sha256(salt + business + IP + user
  agent)``, cut to 32 hex digits, as privacy-first analytics count them. The salt is
  random, one per UTC day, kept only in the shared cache (Redis in production) and
  gone two days later: once it is gone, nobody — us included — can tell which
  address made a hash, and the same person gets a new hash the next day. The
  business is in the hash, so one person's hashes at two shops cannot be matched.
- :func:`parse_tracking`: the ``ref``, ``utm_*`` and ad click id parameters of a URL,
  each cleaned (control characters removed) and cut to its column's size: stored as
  text, never rendered raw, and a value of 10 kB or full of control characters is
  just cut, never an error.
"""

import datetime
import hashlib
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from django.core.cache import caches

from insights.models import CLICK_ID_MAX, UTM_MAX, Touch

# --- Bots ------------------------------------------------------------------------------

# Lower-case substrings of the user agents that are not people: search and AI crawlers
# ("bot", "crawl", "spider", "slurp"), link previewers, uptime checks and HTTP
# libraries. The apps' own in-app browsers ("Instagram", "FBAV", "LinkedInApp",
# "Twitter for iPhone") are people: only their fetchers' names are listed. Not
# "headless": the browser tests (and some people's privacy browsers) send
# "HeadlessChrome". "cubot" is a phone brand ("CUBOT P30"), taken out before "bot"
# is looked for.
BOT_MARKERS = (
    "bot", "crawl", "spider", "slurp", "scrapy", "archiver", "facebookexternalhit",
    "facebookcatalog", "meta-externalagent", "whatsapp", "telegrambot", "slackbot",
    "slack-imgproxy", "twitterbot", "linkedinbot", "discordbot", "embedly", "iframely",
    "vkshare", "preview", "google-inspectiontool", "feedfetcher", "mediapartners",
    "lighthouse", "pagespeed", "gtmetrix", "uptime", "pingdom", "statuscake", "site24x7",
    "monitor", "check_http", "nagios", "zabbix", "curl", "wget", "python-requests",
    "python-urllib", "python-httpx", "aiohttp", "go-http-client", "okhttp", "java/",
    "apache-httpclient", "libwww-perl", "node-fetch", "axios", "httpclient", "phantomjs",
    "postman", "insomnia",
)  # fmt: skip
_NOT_BOTS = re.compile(r"cubot")
USER_AGENT_MAX = 512  # what is read of a user agent (hashing a 1 MB header is not useful)


def is_bot(user_agent: str | None) -> bool:
    """Whether ``user_agent`` is a crawler, previewer, uptime check or script — or
    missing, as a browser always sends one."""
    agent = _NOT_BOTS.sub("", (user_agent or "")[:USER_AGENT_MAX].lower())
    if not agent.strip():
        return True
    return any(marker in agent for marker in BOT_MARKERS)


# --- Visitors ----------------------------------------------------------------------------

SALT_TTL = 2 * 24 * 60 * 60  # the day's salt outlives the day by one, then it is gone
SALT_MEMO_TTL = 60.0  # seconds a process keeps the salt it read from the shared cache

_salts: dict[str, tuple[float, str]] = {}
_salts_lock = threading.Lock()


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def daily_salt(day: datetime.date | None = None) -> str:
    """The random salt of ``day`` (UTC; today by default), made by the first process
    that needs it (``cache.add``: the others take the same one). Read from the shared
    cache at most once a minute per process. Never stored in the database."""
    key = f"insights:visitor-salt:{(day or _today()).isoformat()}"
    now = time.monotonic()
    memo = _salts.get(key)
    if memo is not None and memo[0] > now:
        return memo[1]
    cache = caches["default"]
    salt = cache.get(key)
    if salt is None:
        cache.add(key, secrets.token_hex(16), timeout=SALT_TTL)
        salt = cache.get(key)
        if salt is None:  # a cache that keeps nothing (a dummy cache): hashes per process
            salt = memo[1] if memo else secrets.token_hex(16)
    with _salts_lock:
        if len(_salts) > 4:  # yesterday's and older
            _salts.clear()
        _salts[key] = (now + SALT_MEMO_TTL, salt)
    return salt


def visitor_hash(*, business_id: int, ip: str, user_agent: str) -> str:
    """The anonymous visitor of today: 32 hex digits, the same for the same address
    and browser at the same business all day (UTC), unrelated the next day."""
    agent = (user_agent or "")[:USER_AGENT_MAX]
    material = f"{daily_salt()}|{business_id}|{ip or ''}|{agent}"
    return hashlib.sha256(material.encode("utf-8", "replace")).hexdigest()[:32]


# --- Tracking parameters ------------------------------------------------------------------

# Ad networks' click ids, in the order one is taken when a URL has several.
CLICK_ID_PARAMS = ("click_id", "gclid", "fbclid")
UTM_PARAMS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TRACKING_PARAMS = ("ref", *UTM_PARAMS, *CLICK_ID_PARAMS)
CLICK_ID_KIND_MAX = Touch._meta.get_field("click_id_kind").max_length
_DROPPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, format, surrogates, unassigned


def clean_value(value: object, limit: int) -> str:
    """``value`` as plain text of at most ``limit`` characters: control, format
    (bidirectional overrides, zero-width) and unassigned characters removed, spaces
    trimmed. Never fails."""
    text = str(value or "")[: limit * 4]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return text.strip()[:limit].strip()


@dataclass(frozen=True)
class Tracking:
    """What a link said about where it came from (each value cleaned and cut)."""

    ref: str = ""
    source: str = ""
    medium: str = ""
    campaign: str = ""
    term: str = ""
    content: str = ""
    click_id_kind: str = ""
    click_id: str = ""

    def __bool__(self) -> bool:
        return any(asdict(self).values())

    @property
    def names_a_campaign(self) -> bool:
        """Whether the link says where it came from (a ``ref`` or ``utm_*`` value):
        then its touch belongs to a campaign, a real or an automatic one."""
        return bool(self.ref or self.source or self.medium or self.campaign)

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}


def parse_tracking(params: Mapping[str, object]) -> Tracking:
    """The tracking values of a query string (a ``QueryDict``, or any mapping of
    names to a value: what a signed form or a JSON body carried)."""

    def get(name: str, limit: int) -> str:
        try:
            value = params.get(name)
        except Exception:
            return ""
        return clean_value(value, limit) if isinstance(value, str | int) else ""

    kind, click_id = "", ""
    for name in CLICK_ID_PARAMS:
        click_id = get(name, CLICK_ID_MAX)
        if click_id:
            kind = name[:CLICK_ID_KIND_MAX]
            break
    return Tracking(
        ref=get("ref", UTM_MAX),
        source=get("utm_source", UTM_MAX),
        medium=get("utm_medium", UTM_MAX),
        campaign=get("utm_campaign", UTM_MAX),
        term=get("utm_term", UTM_MAX),
        content=get("utm_content", UTM_MAX),
        click_id_kind=kind,
        click_id=click_id,
    )
