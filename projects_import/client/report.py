"""What `send` prints: one line per part as it is answered, a summary table, a verdict with
the next step, and the same facts as JSON for machines.

Every line about a request carries its correlation id, so an incident ticket can cite it.
"""

from __future__ import annotations

from typing import Any

from projects_import.client.batch import BatchRun, Part, Plan
from projects_import.client.sender import RetryNotice

MAX_VIOLATION_LINES = 5
PAUSED_CODE = "tenant_paused"
_COUNTS = ("inserted_projects", "updated_projects", "unchanged_projects", "anomalies_count",
           "org_memberships_upserted", "user_memberships_upserted")


def _metrics(part: Part) -> dict[str, Any]:
    body = part.answer.body if part.answer else None
    metrics = body.get("metrics") if body else None
    return metrics if isinstance(metrics, dict) else {}


def _where(part: Part, total: int) -> str:
    return (f"part {part.number}/{total} {part.batch_id} rows "
            f"{part.first_row}-{part.first_row + part.rows - 1}")


def _correlation(part: Part) -> str:
    """Our correlation id, and the server's when it answered with a different one."""
    ours = part.correlation_id or "-"
    theirs = part.answer.server_correlation_id if part.answer else None
    if theirs and theirs != ours:
        return f"correlation_id {ours} (server: {theirs})"
    return f"correlation_id {ours}"


def plan_line(plan: Plan, url: str, gzip: bool) -> str:
    limits = plan.limits
    return (f"sending {plan.export.path.name} to {url} for tenant {plan.envelope.tenant_id}: "
            f"batch {plan.envelope.batch_id}, {plan.total_rows} rows in {len(plan.parts)} "
            f"part(s) of at most {limits.max_rows} rows and {limits.max_bytes} bytes, "
            f"gzip {'on' if gzip else 'off'}")


def _findings(part: Part) -> str:
    """The audit's findings of a part, e.g. `max_ended_share 0.33 > 0.2`."""
    body = part.answer.body if part.answer else None
    audit = body.get("audit") if body else None
    findings = audit.get("findings") if isinstance(audit, dict) else None
    return ", ".join(f"{f.get('check')} {f.get('observed')} > {f.get('limit')}"
                     for f in findings or []) or "none"


def dry_run_line(part: Part, total: int) -> str:
    """What one part would do (`send --dry-run`): nothing was staged or merged."""
    answer = part.answer
    assert answer is not None
    m = _metrics(part)
    verdict = ("would be HELD for review" if answer.status == "held"
               else "would be published")
    return (f"{_where(part, total)}: dry run ({answer.http_status}): would insert "
            f"{m.get('inserted_projects', 0)}, update {m.get('updated_projects', 0)}, leave "
            f"{m.get('unchanged_projects', 0)} unchanged, end {m.get('memberships_ended', 0)} "
            f"membership(s), record {m.get('anomalies_count', 0)} anomalies; {verdict} "
            f"(audit findings: {_findings(part)}); {_correlation(part)}")


def part_line(part: Part, total: int, *, dry_run: bool = False) -> str:
    answer = part.answer
    if answer is None:
        return f"{_where(part, total)}: not sent"
    if dry_run and answer.status in ("accepted", "held", "replayed"):
        return dry_run_line(part, total)
    attempts = f"attempts {answer.attempts}, {answer.elapsed_s:.2f} s"
    if answer.status == "held":
        m = _metrics(part)
        return (f"{_where(part, total)}: held for review (202: staged, not published; audit "
                f"findings: {_findings(part)}); publishing would insert "
                f"{m.get('inserted_projects', 0)}, update {m.get('updated_projects', 0)}, end "
                f"{m.get('memberships_ended', 0)} membership(s); {attempts}; "
                f"{_correlation(part)}")
    if answer.status in ("accepted", "replayed"):
        m = _metrics(part)
        what = ("accepted (200)" if answer.status == "accepted"
                else "replayed (200: already imported, figures as first reported)")
        return (f"{_where(part, total)}: {what} inserted {m.get('inserted_projects', 0)}, "
                f"updated {m.get('updated_projects', 0)}, "
                f"unchanged {m.get('unchanged_projects', 0)}, "
                f"anomalies {m.get('anomalies_count', 0)}; {attempts}; {_correlation(part)}")
    label = "REJECTED" if answer.status == "rejected" else (
        f"FAILED after {answer.attempts} attempt(s), last")
    return (f"{_where(part, total)}: {label} ({_status(part)}): "
            f"{answer.error_message}; {attempts}; {_correlation(part)}")


def _status(part: Part) -> str:
    """`422 contract_violation`, or `no answer` when the server never answered."""
    answer = part.answer
    if answer is None or answer.http_status is None:
        return "no answer"
    return f"{answer.http_status} {answer.error_code}"


def violation_lines(part: Part) -> list[str]:
    """The first contract violations, with the row's number in the file."""
    violations = part.answer.violations if part.answer else []
    lines = []
    for violation in violations[:MAX_VIOLATION_LINES]:
        index = violation.get("row_index")
        where = (f"file row {part.first_row + index} (part row {index + 1})"
                 if isinstance(index, int) else "batch")
        lines.append(f"  violation: {where} {violation.get('field')} {violation.get('code')}: "
                     f"{violation.get('message')}; {_correlation(part)}")
    if len(violations) > MAX_VIOLATION_LINES:
        lines.append(f"  … {len(violations) - MAX_VIOLATION_LINES} more violation(s) in this "
                     f"part (--json lists them); {_correlation(part)}")
    return lines


def retry_line(part: Part, total: int, notice: RetryNotice) -> str:
    return (f"retry: part {part.number}/{total} {part.batch_id} attempt "
            f"{notice.attempt}/{notice.attempts} got {notice.reason}; next attempt in "
            f"{notice.delay_s:.1f} s; correlation_id {part.correlation_id}")


def table(run: BatchRun) -> str:
    header = ("part", "batch_id", "rows", "status", "http", "inserted", "updated", "unchanged",
              "anomalies", "attempts", "correlation_id")
    lines: list[tuple[str, ...]] = [header]
    for part in run.parts:
        m = _metrics(part)
        answer = part.answer
        lines.append((
            f"{part.number:03d}", part.batch_id, str(part.rows), part.status,
            str(answer.http_status) if answer and answer.http_status else "-",
            *(str(m[k]) if k in m else "-"
              for k in ("inserted_projects", "updated_projects", "unchanged_projects",
                        "anomalies_count")),
            str(answer.attempts) if answer else "0", part.correlation_id or "-",
        ))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in lines)


def totals(run: BatchRun) -> dict[str, int]:
    sums = dict.fromkeys(_COUNTS, 0)
    for part in run.parts:
        for name, value in _metrics(part).items():
            if name in sums and isinstance(value, int):
                sums[name] += value
    return sums


def _numbers(parts: list[Part]) -> str:
    return ", ".join(str(part.number) for part in parts) or "none"


def _hint(run: BatchRun, part: Part) -> str:
    answer = part.answer
    assert answer is not None
    status, code = answer.http_status, answer.error_code
    new_id = "" if run.plan.batch_id_derived else " and a new --batch-id (the parts change)"
    if status == 423 or code == PAUSED_CODE:
        return paused_hint(run.plan.envelope.tenant_id, answer.error_details,
                           answer.error_message)
    if status == 413:
        smaller = max(1024, run.plan.limits.max_bytes // 2)
        return (f"the server's body limit is below --max-bytes {run.plan.limits.max_bytes}: "
                f"split smaller, re-send with --max-bytes {smaller}{new_id}")
    if status == 401:
        return (f"check that PROJECTS_IMPORT_BEARER is a current secret of tenant "
                f"{run.plan.envelope.tenant_id} and that --url is the right server")
    if code == "batch_conflict":
        return "this batch id was already used for different rows: send with a new --batch-id"
    if status == 422 and any(v.get("code") == "row_count" for v in answer.violations):
        return f"the server takes fewer rows per request: lower --max-rows{new_id}"
    if status == 422:
        return "correct the rows listed above and send the file again"
    if status in (404, 405):
        return "check --url: it should be the service's /import-projects route"
    if answer.status == "failed":
        return "the server is unavailable or overloaded; send the same file again later"
    return "correct the request and send the file again"


def paused_hint(tenant_id: str, details: dict[str, str], message: str | None) -> str:
    """What to do about a 423: nothing automatic, a retry would be refused just the same.
    The reason comes from the answer's `reason`/`paused_at` fields, else its message."""
    why = []
    if details.get("reason"):
        why.append(f"reason: {details['reason']}")
    if details.get("paused_at"):
        why.append(f"paused at {details['paused_at']}")
    if not why and message:
        why.append(f"the server says: {message}")
    said = f" ({'; '.join(why)})" if why else ""
    return (f"tenant {tenant_id} is paused (quarantined) on the server{said}; not retried: "
            f"an operator resumes it with `projects-import tenant resume {tenant_id}`, then "
            f"send the file again")


def verdict(run: BatchRun) -> str:
    parts = run.parts
    done = [p for p in parts if p.status in ("accepted", "replayed")]
    unsent = [p for p in parts if p.status == "not sent"]
    if run.dry_run:
        return _dry_run_verdict(run)
    if run.outcome == "held":
        held = next(p for p in parts if p.status == "held")
        return (f"result: HELD FOR REVIEW: part {held.number} ({held.batch_id}) was staged but "
                f"not published (audit findings: {_findings(held)}); {_correlation(held)}. "
                f"Parts accepted: {_numbers(done)}; not sent: {_numbers(unsent)}. Next: an "
                "admin reviews it on the imports page (or `projects-import imports list "
                "--batch-state held`) and publishes or rejects it; do not re-send until then "
                "(a re-send answers 202 again). exit 4")
    if run.outcome == "accepted":
        t = totals(run)
        replayed = sum(1 for p in parts if p.status == "replayed")
        return (f"result: accepted: all {len(parts)} part(s), {run.plan.total_rows} rows, "
                f"answered 200 ({len(parts) - replayed} new, {replayed} replayed); inserted "
                f"{t['inserted_projects']}, updated {t['updated_projects']}, unchanged "
                f"{t['unchanged_projects']}, anomalies {t['anomalies_count']}. exit 0")
    stopped = next(p for p in parts if p.status in ("rejected", "failed"))
    answer = stopped.answer
    assert answer is not None
    word = "REJECTED" if run.outcome == "rejected" else "FAILED"
    how = ("answered" if answer.status == "rejected"
           else f"still failing after {answer.attempts} attempt(s), last")
    return (f"result: {word}: part {stopped.number} ({stopped.batch_id}) {how} "
            f"{_status(stopped)}; {_correlation(stopped)}. "
            f"Parts accepted: {_numbers(done)}; not sent: {_numbers(unsent)}. "
            f"Next: {_hint(run, stopped)}; re-sending the same file replays the accepted "
            f"parts. exit {run.exit_code}")


def as_json(run: BatchRun) -> dict[str, Any]:
    plan = run.plan
    return {
        "file": str(plan.export.path),
        "url": run.url,
        "tenant_id": plan.envelope.tenant_id,
        "source": plan.envelope.source,
        "batch_id": plan.envelope.batch_id,
        "rows": plan.total_rows,
        "limits": {"max_rows": plan.limits.max_rows, "max_bytes": plan.limits.max_bytes},
        "gzip": run.gzip,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "result": run.outcome,
        "dry_run": run.dry_run,
        "exit_code": run.exit_code,
        "totals": totals(run),
        "parts": [_part_json(part) for part in run.parts],
    }


def _part_json(part: Part) -> dict[str, Any]:
    answer = part.answer
    item: dict[str, Any] = {
        "part": part.number, "batch_id": part.batch_id, "first_row": part.first_row,
        "rows": part.rows, "status": part.status, "correlation_id": part.correlation_id,
        "http_status": None, "attempts": 0, "response": None, "error": None,
        "violations": [],
    }
    if answer is None:
        return item
    item.update(http_status=answer.http_status, attempts=answer.attempts,
                elapsed_s=round(answer.elapsed_s, 3), bytes_sent=answer.bytes_sent,
                response=answer.body, violations=answer.violations)
    if answer.error_code:
        item["error"] = {"code": answer.error_code, "message": answer.error_message,
                         "correlation_id": answer.server_correlation_id}
    return item


def _dry_run_verdict(run: BatchRun) -> str:
    """The whole file's plan: what every part would do, nothing staged or merged."""
    t = totals(run)
    ended = sum(int(_metrics(p).get("memberships_ended", 0) or 0) for p in run.parts)
    held = [p for p in run.parts if p.status == "held"]
    refused = [p for p in run.parts if p.status in ("rejected", "failed")]
    outcome = (f"parts {_numbers(held)} would be HELD for review" if held
               else "every part would be published")
    if refused:
        outcome += f"; parts {_numbers(refused)} would be refused (see above)"
    return (f"result: DRY RUN (nothing staged or merged): {len(run.parts)} part(s), "
            f"{run.plan.total_rows} rows would insert {t['inserted_projects']}, update "
            f"{t['updated_projects']}, leave {t['unchanged_projects']} unchanged, end {ended} "
            f"membership(s), record {t['anomalies_count']} anomalies; {outcome}. Each part is "
            f"measured against today's data, as if sent alone. exit {run.exit_code}")
