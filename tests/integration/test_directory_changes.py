"""Directory edits in the database (migration 0024): admin-only writers that audit every
change, and trigram suggestions for an unknown value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest


@contextmanager
def as_user(db: psycopg.Connection[Any], role: str,
            sub: str = "someone@example.com") -> Iterator[psycopg.Connection[Any]]:
    """A transaction run as `authenticated` with these claims, as the service does."""
    claims = {"sub": sub, "role": "authenticated", "app_metadata": {"role": role}}
    with db.transaction():
        db.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        db.execute("set local role authenticated")
        yield db


def test_an_admin_adds_an_alias_and_the_change_is_audited(db, tenant, directories) -> None:
    with as_user(db, "admin", "boss@example.com"):
        added = db.execute("select fn_directory_partner_set('TELCO', ' Acme Civil ', "
                           "'Acme Civil Pty Ltd') as r").fetchone()["r"]
        same = db.execute("select fn_directory_partner_set('TELCO', 'acme  civil', "
                          "'Acme Civil Pty Ltd') as r").fetchone()["r"]
        changed = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                             "'Acme Group') as r").fetchone()["r"]
        again = db.execute("select fn_directory_partner_set('TELCO', 'Acme Civil', "
                           "'Acme Group') as r").fetchone()["r"]
    assert added["action"] == "add" and added["change_id"] is not None
    assert same["action"] == "update"  # same alias key, another spelling
    assert changed["action"] == "update"
    assert again["change_id"] is None  # nothing changed, nothing audited
    row = db.execute("select alias, canonical from partner_normalization "
                     "where tenant_id = 'TELCO' and alias_key = 'acme civil'").fetchone()
    assert row == {"alias": "Acme Civil", "canonical": "Acme Group"}
    audit = db.execute("select actor, action, directory, before, after from directory_changes "
                       "order by id").fetchall()
    assert [a["action"] for a in audit] == ["add", "update", "update"]
    assert {a["actor"] for a in audit} == {"boss@example.com"}
    assert audit[0]["before"] is None
    assert audit[0]["after"] == {"alias": "Acme Civil", "canonical": "Acme Civil Pty Ltd"}
    assert audit[2]["before"] == {"alias": "acme  civil", "canonical": "Acme Civil Pty Ltd"}


def test_people_are_added_deactivated_and_reactivated(db, tenant, directories) -> None:
    with as_user(db, "admin"):
        actions = [db.execute("select fn_directory_person_set(%s, %s, %s, %s, %s) as r",
                              args).fetchone()["r"]["action"]
                   for args in (("TELCO", "ds", "new.ds", "New Person", True),
                                ("TELCO", "ds", "NEW.DS", "", False),
                                ("TELCO", "ds", "new.ds", None, True),
                                ("TELCO", "rm", "rm.new", "Rose Manager", True),
                                ("TELCO", "rm", "rm.new", "Rose M. Manager", True))]
        unchanged = db.execute("select fn_directory_person_set('TELCO', 'ds', 'new.ds', "
                               "'New Person', true) as r").fetchone()["r"]
    assert actions == ["add", "deactivate", "reactivate", "add", "update"]
    assert unchanged["change_id"] is None
    ds = db.execute("select preferred_username, display_name, active from ds_directory "
                    "where username_key = 'new.ds'").fetchone()
    assert ds == {"preferred_username": "new.ds", "display_name": "New Person", "active": True}
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 5


@pytest.mark.parametrize("role", ["operator", "viewer", ""])
def test_only_an_admin_may_write_and_nobody_writes_the_tables_directly(
        db, tenant, directories, role) -> None:
    for statement in (
        "select fn_directory_partner_set('TELCO', 'Acme', 'Acme Pty Ltd')",
        "select fn_directory_partner_remove('TELCO', 'Downer')",
        "select fn_directory_person_set('TELCO', 'ds', 'x', 'X', true)",
        "insert into directory_changes (tenant_id, actor, action, directory) "
        "values ('TELCO', 'me', 'add', 'ds')",
        "update partner_normalization set canonical = 'x'",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, role):
            db.execute(statement)
    assert db.execute("select count(*) as n from directory_changes").fetchone()["n"] == 0
    assert db.execute("select count(*) as n from partner_normalization").fetchone()["n"] == 2


def test_writers_name_what_is_wrong(db, tenant, directories) -> None:
    cases = [
        ("select fn_directory_partner_set('TELCO', '  ', 'X')", psycopg.errors.InvalidParameterValue),
        ("select fn_directory_partner_set('NOPE', 'a', 'X')", psycopg.errors.NoDataFound),
        ("select fn_directory_partner_remove('TELCO', 'never there')", psycopg.errors.NoDataFound),
        ("select fn_directory_person_set('TELCO', 'xx', 'a', 'A', true)",
         psycopg.errors.InvalidParameterValue),
        ("select fn_directory_person_set('TELCO', 'rm', 'no.name', '', true)",
         psycopg.errors.InvalidParameterValue),
    ]
    for statement, error in cases:
        with pytest.raises(error), as_user(db, "admin"):
            db.execute(statement)


def test_removing_an_alias_is_audited_with_the_row_it_removed(db, tenant, directories) -> None:
    with as_user(db, "admin"):
        result = db.execute("select fn_directory_partner_remove('TELCO', 'DOWNER') as r"
                            ).fetchone()["r"]
    assert result["action"] == "remove"
    audit = db.execute("select before, after from directory_changes").fetchone()
    assert audit == {"before": {"alias": "Downer", "canonical": "Downer Group"}, "after": None}


def test_suggestions_rank_the_closest_directory_entries(db, tenant, directories) -> None:
    with as_user(db, "operator"):
        partners = db.execute("select * from fn_directory_suggestions('TELCO', "
                              "'UNKNOWN_DELIVERY_PARTNER', 'Fulton Hogen')").fetchall()
        ds = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', "
                        "'PREFERED_USERNAME')").fetchall()
        gone = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', "
                          "'ds.gone')").fetchall()
        rm = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_RM', "
                        "'Frist Last')").fetchall()
        nothing = db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_RM', "
                             "'zzzz')").fetchall()
    assert partners[0]["canonical"] == "Fulton Hogan Pty Ltd"
    assert partners[0]["matched"] == "Fulton Hogan" and partners[0]["score"] > 0.5
    assert all(p["canonical"] != "Downer Group" for p in partners)
    assert ds[0]["username"] == "PREFERRED_USERNAME" and ds[0]["active"]
    assert [(g["username"], g["active"], g["score"]) for g in gone] == [("ds.gone", False, 1.0)]
    assert rm[0]["username"] == "flast" and rm[0]["matched"] == "First Last"
    assert nothing == []
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(db, "viewer"):
        db.execute("select * from fn_directory_suggestions('TELCO', 'UNKNOWN_DS', 'x')")
