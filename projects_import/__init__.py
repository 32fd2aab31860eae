"""projects-import: idempotent per-tenant import of development projects into PostgreSQL."""

from __future__ import annotations

__version__ = "0.1.0"
