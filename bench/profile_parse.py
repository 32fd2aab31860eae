"""Profile the Python side of one 5000-row import (decode, contract, checksum, encode) with
pyinstrument, next to the reference path it replaced.

    .venv/bin/python bench/profile_parse.py
"""

from __future__ import annotations

import json
import time
import uuid

import orjson
from harness import body, make_rows
from pyinstrument import Profiler

from projects_import.imports.contract import batch_checksum, parse_payload, parse_valid_payload


def best_ms(work: object, runs: int = 20) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best * 1000


def main() -> None:
    payload = body("TELCO", "profile", make_rows(5000))
    decoded = orjson.loads(payload)
    request = parse_valid_payload(decoded, max_rows=5000)
    assert request is not None
    steps = {
        "orjson.loads of the body": lambda: orjson.loads(payload),
        "parse_valid_payload (with the checksum)": lambda: parse_valid_payload(
            decoded, max_rows=5000, generated_correlation_id=uuid.uuid4()),
        "batch_checksum alone": lambda: batch_checksum(request.rows),
        "orjson.dumps of the normalized rows": lambda: orjson.dumps(request.rows),
        "reference: json.loads + parse_payload": lambda: parse_payload(
            json.loads(payload), max_rows=5000),
        "reference: json.dumps of raw and rows": lambda: (json.dumps(request.raw),
                                                          json.dumps(request.rows)),
    }
    print(f"body: {len(payload):,} bytes, 5000 rows")
    for label, work in steps.items():
        print(f"  {best_ms(work):7.2f} ms  {label}")
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(20):
        parse_valid_payload(orjson.loads(payload), max_rows=5000)
    profiler.stop()
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
