"""The service's fixed words and numbers, defined once and imported everywhere.

The SQL side holds the same values in CHECK constraints and functions (migrations 0002-0006);
`tests/migration/test_vocabulary.py` reads them back from a migrated database's catalog, so the
two cannot drift apart. This module imports nothing, so the `client/` package may use it too.
"""

from __future__ import annotations

import ipaddress
import re

# Anomalies (import_anomalies: CHECKs on severity, anomaly_type, status; the merge's severities).
SEVERITIES = ("error", "warning", "info")
ANOMALY_SEVERITY = {
    "UNKNOWN_DELIVERY_PARTNER": "warning",
    "UNKNOWN_DS": "error",
    "UNKNOWN_RM": "error",
}
ANOMALY_TYPES = tuple(ANOMALY_SEVERITY)
ANOMALY_STATUSES = ("open", "acknowledged", "resolved")

# Tenant ids (tenants' CHECK on tenant_id; API parameters, CLI options, console filters).
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
TENANT_ID = re.compile(TENANT_ID_PATTERN)

# Roles: the application role in a JWT's app_metadata.role (fn_is_operator decides in SQL).
ROLES = ("operator", "admin", "viewer")
OPERATOR_ROLES = ("operator", "admin")

# Advisory locks: session locks as (class, key) pairs; the per-tenant import lock is a 64-bit
# hash of the tenant id computed in SQL (fn_projects_import_lock_key) with this seed.
MIGRATIONS_LOCK = (7301, 0)
RETENTION_LOCK = (7302, 1)
ALERT_LOCK = (7302, 2)        # one alert evaluation at a time (transaction-scoped)
# SPEC §2: POST /anomalies/alerts alerts at this many occurrences in the window when
# ANOMALIES_ALERT_MIN_COUNT is unset (the scheduler then uses the per-tenant runbook rules).
ON_DEMAND_ALERT_MIN_COUNT = 1
IMPORT_LOCK_SEED = 7301
RETENTION_JOB = "imports-anomalies-retention"

# Limits of one import request and of stored values.
MAX_ROWS = 5000
MAX_BODY_BYTES = 5_242_880
MAX_STRING = 256
MAX_EXCERPT = 500
DEFAULT_SOURCE = "projects-import"

# What a boolean query parameter or CSV cell may say (a blank one means the context's default).
TRUE_STRINGS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_STRINGS = frozenset({"false", "f", "no", "n", "0", "off"})


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine (localhost, 127.0.0.0/8, ::1): the only hosts that
    may be reached over plain http://."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# Directory keys (SPEC §5.1): how a partner alias, a DS or RM username or display name is
# matched — PostgreSQL's fn_directory_key (migration 0002):
#   nullif(btrim(lower(regexp_replace(value, '\s+', ' ', 'g'))), '')
# Every reader keys by this one function (the CSV import, the console's forms), so a file
# cannot hold two rows that the database then finds to be the same row.
# `\s` of PostgreSQL's regular expressions in a UTF-8 database is the C library's
# iswspace: ASCII tab, newline, vertical tab, form feed, carriage return and space, and
# Unicode's breaking spaces — not the no-break ones (U+00A0, U+2007, U+202F) nor U+001C-U+001F
# and U+0085, which Python's str.isspace() also counts.
_SQL_SPACES = re.compile("[\t\n\v\f\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029"
                         "\u205f\u3000]+")


def _sql_lower(char: str) -> str:
    """lower() of PostgreSQL: one character to one (towlower), without Unicode's
    special cases (U+0130 lowers to "i"; a final capital sigma lowers to U+03C3, never U+03C2)."""
    return char.lower()[0]


def directory_key(value: str | None) -> str | None:
    """The directory matching key of `value`, exactly as SQL's fn_directory_key computes it
    (tests/migration/test_vocabulary.py compares the two): inner whitespace runs collapsed to
    one space, lower-cased, spaces trimmed; None for None or a blank value."""
    if value is None:
        return None
    collapsed = _SQL_SPACES.sub(" ", value)
    key = "".join(map(_sql_lower, collapsed)).strip(" ")
    return key or None
