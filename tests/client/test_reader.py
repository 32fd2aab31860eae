"""Reading exports: CSV with a header row, JSON arrays and full payloads, and refusing
files that cannot be sent whole."""

from __future__ import annotations

import json

import pytest

from projects_import.client.batch import plan_batch
from projects_import.client.chunker import Limits
from projects_import.client.reader import ExportError, open_export
from tests.client.conftest import rows, write_csv, write_json


def test_csv_rows_keep_the_header_names(tmp_path) -> None:
    file = tmp_path / "a.csv"
    file.write_bytes("\ufeffstage_application , residential,notes\r\n"
                     "STG-1,45,\"two\nlines\"\r\n\r\nSTG-2,7\r\n".encode())
    export = open_export(file)
    assert export.format == "csv"
    assert list(export.rows()) == [
        {"stage_application": "STG-1", "residential": "45", "notes": "two\nlines"},
        {"stage_application": "STG-2", "residential": "7", "notes": ""},
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("project,residential\nSTG-1,4\n", "header row with the contract's column names"),
    ("stage_application,residential,residential\nSTG-1,4,5\n", "repeated column names"),
    ("stage_application,residential\nSTG-1,4,5\n", "CSV line 2 has 3 cells"),
])
def test_csv_that_cannot_be_sent_whole(tmp_path, content, message) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(content)
    with pytest.raises(ExportError, match=message):
        list(open_export(file).rows())


def test_csv_not_utf8(tmp_path) -> None:
    file = tmp_path / "latin.csv"
    file.write_bytes("stage_application,developer_class\nSTG-1,Cl\xe4ss\n".encode("latin-1"))
    with pytest.raises(ExportError, match="not UTF-8"):
        list(open_export(file).rows())


def test_json_array_of_rows(tmp_path) -> None:
    data = rows(3, residential=12)
    data[0]["premises_count"] = 2.5
    export = open_export(write_json(tmp_path / "rows.json", data))
    assert export.format == "json" and export.envelope == {}
    assert list(export.rows()) == data


def test_json_payload_gives_envelope_and_rows(tmp_path) -> None:
    payload = {"rows": rows(2), "tenant_id": "TELCO", "source": "crm", "batch_id": "b-1",
               "extra": {"tenant_id": "nested, ignored"}}
    export = open_export(write_json(tmp_path / "payload.json", payload))
    assert export.envelope == {"tenant_id": "TELCO", "source": "crm", "batch_id": "b-1"}
    assert list(export.rows()) == payload["rows"]


def test_format_is_sniffed_without_a_known_suffix(tmp_path) -> None:
    data = rows(1)
    assert open_export(write_json(tmp_path / "export.txt", data)).format == "json"
    assert open_export(write_csv(tmp_path / "export.dat", data)).format == "csv"


@pytest.mark.parametrize(("content", "message"), [
    ('{"tenant_id": "TELCO"}', "without a `rows` array"),
    ('{"rows": {"a": 1}}', "`rows` in bad.json must be an array"),
    ('{"rows": [{"stage_application": "x"}', "not valid JSON"),
    ('"just a string"', "must hold an array of rows or an import payload"),
])
def test_json_that_cannot_be_sent(tmp_path, content, message) -> None:
    file = tmp_path / "bad.json"
    file.write_text(content)
    with pytest.raises(ExportError, match=message):
        list(open_export(file).rows())


def test_truncated_json_array_is_refused_before_anything_is_sent(tmp_path) -> None:
    file = tmp_path / "cut.json"
    file.write_text(json.dumps(rows(20))[:-40])
    with pytest.raises(ExportError, match="cannot be read after row"):
        plan_batch(file, tenant_id="TELCO", source=None, batch_id=None, limits=Limits())


def test_json_row_that_is_not_an_object(tmp_path) -> None:
    file = write_json(tmp_path / "rows.json", [rows(1)[0], ["STG-2"]])
    with pytest.raises(ExportError, match="row 2 of the JSON is not an object"):
        list(open_export(file).rows())


def test_payload_for_another_tenant_is_refused(tmp_path) -> None:
    file = write_json(tmp_path / "p.json", {"tenant_id": "OTHER", "rows": rows(1)})
    with pytest.raises(ExportError, match="payload for tenant OTHER, not TELCO"):
        plan_batch(file, tenant_id="TELCO", source=None, batch_id=None, limits=Limits())


def test_empty_export_is_refused(tmp_path) -> None:
    file = tmp_path / "empty.csv"
    file.write_text("stage_application,residential\n")
    with pytest.raises(ExportError, match="no rows to send"):
        plan_batch(file, tenant_id="TELCO", source=None, batch_id=None, limits=Limits())


def test_json_with_a_byte_order_mark(tmp_path) -> None:
    file = tmp_path / "bom.json"
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps({"tenant_id": "TELCO", "rows": rows(2)}).encode())
    export = open_export(file)
    assert export.envelope == {"tenant_id": "TELCO"}
    assert len(list(export.rows())) == 2
