"""What routes depend on, as `Annotated` aliases so signatures read like sentences. The
managers are built once, at start-up, on `Services`; routes reach them only through these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from projects_import.alerting.engine import AlertConfig, AlertEngine
from projects_import.anomalies.groups import ProblemGroups
from projects_import.anomalies.manager import AnomalyManager
from projects_import.anomalies.problems import ProblemManager
from projects_import.api.errors import ApiError, bearer_token
from projects_import.api.throttle import ImportGate, SignInThrottle
from projects_import.auth import (
    OPERATOR_ROLES,
    USER_TOKEN_ROLE,
    app_role,
    database_claims,
    decode_token,
)
from projects_import.console.directories import DirectoryConsole
from projects_import.console.fixes import GroupFixes
from projects_import.console.worklist import Worklist
from projects_import.cursor import CursorCodec
from projects_import.db.connection import Database
from projects_import.imports.history import ImportHistory
from projects_import.imports.review import BatchReview
from projects_import.imports.service import ImportService
from projects_import.observability import Metrics
from projects_import.settings import Settings
from projects_import.tenant_status import TenantStatus
from projects_import.tenants import TenantStore
from projects_import.users import UserStore
from projects_import.vocabulary import ON_DEMAND_ALERT_MIN_COUNT


@dataclass
class Services:
    """Everything a request may use, built once at start-up."""

    settings: Settings
    db: Database
    metrics: Metrics
    tenants: TenantStore = field(init=False)
    imports: ImportService = field(init=False)
    anomalies: AnomalyManager = field(init=False)
    problems: ProblemManager = field(init=False)
    groups: ProblemGroups = field(init=False)
    cursors: CursorCodec = field(init=False)
    users: UserStore = field(init=False)
    worklist: Worklist = field(init=False)
    directories: DirectoryConsole = field(init=False)
    fixes: GroupFixes = field(init=False)
    history: ImportHistory = field(init=False)
    tenant_status: TenantStatus = field(init=False)
    review: BatchReview = field(init=False)

    def __post_init__(self) -> None:
        self.tenants = TenantStore(self.db)
        self.imports = ImportService(self.db,
                                     retry_after_seconds=self.settings.retry_after_seconds)
        self.anomalies = AnomalyManager(self.db)
        self.problems = ProblemManager(self.db)
        self.groups = ProblemGroups(self.db)
        self.cursors = CursorCodec(self.settings.jwt_secret)
        self.users = UserStore(self.db)
        self.worklist = Worklist(self.db)
        self.directories = DirectoryConsole(self.db)
        self.fixes = GroupFixes(self.db)
        self.import_gate = ImportGate()
        self.signin = SignInThrottle()
        self.history = ImportHistory(self.db, self.cursors)
        self.tenant_status = TenantStatus(self.db)
        self.review = BatchReview(self.db)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _settings(services: ServicesDep) -> Settings:
    return services.settings


def _imports(services: ServicesDep) -> ImportService:
    return services.imports


def _anomalies(services: ServicesDep) -> AnomalyManager:
    return services.anomalies


def _users(services: ServicesDep) -> UserStore:
    return services.users


def _worklist(services: ServicesDep) -> Worklist:
    return services.worklist


def _directories(services: ServicesDep) -> DirectoryConsole:
    return services.directories


def _problems(services: ServicesDep) -> ProblemManager:
    return services.problems


def _groups(services: ServicesDep) -> ProblemGroups:
    return services.groups


def _fixes(services: ServicesDep) -> GroupFixes:
    return services.fixes


def _cursors(services: ServicesDep) -> CursorCodec:
    return services.cursors


def _alerts(services: ServicesDep) -> Callable[[], AlertEngine]:
    """The alert engine for the current settings (its webhooks checked when it is made: an
    unacceptable one is a 502 `alert_webhook_invalid`)."""
    settings = services.settings
    # SPEC §2/§4.3: the on-demand evaluation's threshold is ANOMALIES_ALERT_MIN_COUNT, default 1;
    # the scheduled one applies the per-tenant runbook rules unless the variable is set.
    min_count = settings.alert_min_count or ON_DEMAND_ALERT_MIN_COUNT
    return lambda: AlertEngine(services.db, AlertConfig.from_settings(settings,
                                                                      min_count=min_count))


def _history(services: ServicesDep) -> ImportHistory:
    return services.history


def _review(services: ServicesDep) -> BatchReview:
    return services.review


def _tenant_status(services: ServicesDep) -> TenantStatus:
    return services.tenant_status


SettingsDep = Annotated[Settings, Depends(_settings)]
AlertsDep = Annotated[Callable[[], AlertEngine], Depends(_alerts)]
ImportsDep = Annotated[ImportService, Depends(_imports)]
AnomaliesDep = Annotated[AnomalyManager, Depends(_anomalies)]
UsersDep = Annotated[UserStore, Depends(_users)]
WorklistDep = Annotated[Worklist, Depends(_worklist)]
DirectoriesDep = Annotated[DirectoryConsole, Depends(_directories)]
ProblemsDep = Annotated[ProblemManager, Depends(_problems)]
GroupsDep = Annotated[ProblemGroups, Depends(_groups)]
FixesDep = Annotated[GroupFixes, Depends(_fixes)]
CursorsDep = Annotated[CursorCodec, Depends(_cursors)]
ImportHistoryDep = Annotated[ImportHistory, Depends(_history)]
TenantStatusDep = Annotated[TenantStatus, Depends(_tenant_status)]
ReviewDep = Annotated[BatchReview, Depends(_review)]


def operator_claims(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """The verified claims of an operator/admin user JWT (401 / 403 otherwise); what the
    database sees of them (`database_claims`)."""
    claims = decode_token(settings.jwt_secret, bearer_token(request, "user JWT"),
                          jwks_url=settings.jwt_jwks_url, audience=settings.jwt_audiences,
                          issuer=settings.jwt_issuer,
                          audience_required=settings.jwt_audience_required)
    if claims.get("role") != USER_TOKEN_ROLE:
        raise ApiError(403, "forbidden",
                       f"a signed-in user's token (role {USER_TOKEN_ROLE!r}) is required")
    if app_role(claims) not in OPERATOR_ROLES:
        raise ApiError(403, "forbidden", "operator or admin role required (app_metadata.role)")
    return database_claims(claims)


OperatorClaims = Annotated[dict[str, Any], Depends(operator_claims)]


def admin_claims(claims: OperatorClaims) -> dict[str, Any]:
    """operator_claims of an admin (403 for an operator)."""
    if app_role(claims) != "admin":
        raise ApiError(403, "forbidden", "admin role required (app_metadata.role)")
    return claims


AdminClaims = Annotated[dict[str, Any], Depends(admin_claims)]
