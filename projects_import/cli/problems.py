"""`projects-import problems groups|group-acknowledge|group-resolve`: problem groups from the
command line (SPEC §10), through the same operator RPCs as GET /anomalies/problems/groups and
its steps, under the command line's claims (`imports.CLI_CLAIMS`)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any

import typer

from projects_import.anomalies.groups import GroupKey, ProblemGroups
from projects_import.anomalies.problems import ProblemFilter
from projects_import.cli import runtime
from projects_import.cli.imports import CLI_CLAIMS, _dumps
from projects_import.tenants import TENANT_ID
from projects_import.vocabulary import ANOMALY_STATUSES, ANOMALY_TYPES

problems_app = typer.Typer(no_args_is_help=True,
                           help="Problems by cause: groups of one tenant, type and value.")

TypeOption = Annotated[str, typer.Option("--type", help=f"One of {', '.join(ANOMALY_TYPES)}.")]
TenantOption = Annotated[str, typer.Option("--tenant", help="The group's tenant.")]
ValueOption = Annotated[str, typer.Option("--value", help="The group's unknown value.")]
NoteOption = Annotated[str | None, typer.Option(help="Why, kept with each problem changed.")]


def _anomaly_type(text: str) -> str:
    kind = text.strip().upper()
    if kind not in ANOMALY_TYPES:
        runtime.fail(f"--type must be one of {', '.join(ANOMALY_TYPES)}, not {text[:40]!r}")
    return kind


def _tenant(text: str) -> str:
    if not TENANT_ID.match(text):
        runtime.fail(f"{text[:70]!r} is not a tenant id")
    return text


def _when(value: Any) -> str:
    return "-" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M}"


def print_table(headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows under a header line, each column as wide as its widest cell."""
    cells = [tuple("-" if c is None else str(c) for c in row) for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    for row in (headers, *cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())


@problems_app.command("groups")
def groups(
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    anomaly_type: Annotated[str | None, typer.Option(
        "--type", help=f"Only this type: {', '.join(ANOMALY_TYPES)}.")] = None,
    status: Annotated[str, typer.Option(
        help=f"Comma list of {', '.join(ANOMALY_STATUSES)}.")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many groups, 1..1000.",
                                       min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print GET /anomalies/problems/groups' JSON.")] = False,
) -> None:
    """List problem groups (causes), most recently seen first."""
    statuses = tuple(dict.fromkeys(s.strip().lower() for s in status.split(",") if s.strip()))
    unknown = [s for s in statuses if s not in ANOMALY_STATUSES]
    if unknown or not statuses:
        runtime.fail(f"--status takes a comma list of {', '.join(ANOMALY_STATUSES)}")
    selection = ProblemFilter(
        tenant=_tenant(tenant) if tenant else None,
        anomaly_types=(_anomaly_type(anomaly_type),) if anomaly_type else None,
        statuses=statuses, limit=limit)
    rows, after = runtime.run(runtime.settings(),
                              lambda db: ProblemGroups(db).page(CLI_CLAIMS, selection))
    if as_json:
        print(_dumps({"groups": rows, "more": after is not None}))
        return
    if not rows:
        print("no problem groups match")
        return
    print_table(("tenant", "type", "unknown value", "problems", "projects", "occurrences",
                 "open", "ack'd", "resolved", "oldest ack due (UTC)", "last seen (UTC)"),
                [(r["tenant_id"], r["anomaly_type"], r["unknown_value"], r["problems"],
                  r["projects"], r["occurrences"], r["statuses"]["open"],
                  r["statuses"]["acknowledged"], r["statuses"]["resolved"],
                  _when(r["ack_due_at"]), _when(r["last_seen_at"])) for r in rows])
    if after:
        print(f"(more: raise --limit above {limit} or narrow with --tenant/--type)")


def _step(status: str, tenant: str, anomaly_type: str, value: str, note: str | None,
          as_json: bool) -> None:
    key = GroupKey(_tenant(tenant), _anomaly_type(anomaly_type), value)
    answer = runtime.run(runtime.settings(),
                         lambda db: ProblemGroups(db).set_status(CLI_CLAIMS, key, status,
                                                                 note))
    if as_json:
        print(_dumps(answer))
        return
    print(f"{answer['changed']} problem(s) {status}, {answer['skipped']} skipped")
    print_table(("problem", "project", "before", "now", "outcome", "why skipped"),
                [(r["id"], r["project_key"], r["status_before"], r["status"], r["outcome"],
                  r["reason"] or "") for r in answer["problems"]])


JsonFlag = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer.")]


@problems_app.command("group-acknowledge")
def group_acknowledge(tenant: TenantOption, anomaly_type: TypeOption, value: ValueOption,
                      note: NoteOption = None, as_json: JsonFlag = False) -> None:
    """Acknowledge every open problem of a group; says per problem what it skipped."""
    _step("acknowledged", tenant, anomaly_type, value, note, as_json)


@problems_app.command("group-resolve")
def group_resolve(tenant: TenantOption, anomaly_type: TypeOption, value: ValueOption,
                  note: NoteOption = None, as_json: JsonFlag = False) -> None:
    """Resolve every unresolved problem of a group by hand; says per problem what it skipped."""
    _step("resolved", tenant, anomaly_type, value, note, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(problems_app, name="problems")
