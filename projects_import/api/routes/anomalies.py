"""GET /anomalies and POST /anomalies/alerts (SPEC §4.2, §4.3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["anomalies"])
