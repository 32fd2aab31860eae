"""What routes depend on, as `Annotated` aliases so signatures read like sentences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from projects_import.api.throttle import ImportGate, SignInThrottle
from projects_import.db.connection import Database
from projects_import.imports.service import ImportService
from projects_import.observability import Metrics
from projects_import.settings import Settings
from projects_import.tenants import TenantStore


@dataclass
class Services:
    """Everything a request may use, built once at start-up."""

    settings: Settings
    db: Database
    metrics: Metrics

    def __post_init__(self) -> None:
        self.tenants = TenantStore(self.db)
        self.imports = ImportService(self.db)
        self.import_gate = ImportGate()
        self.signin = SignInThrottle()


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
