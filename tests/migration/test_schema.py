"""Migrations are append-only, and together they build exactly `sql/schema.sql`."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row, tuple_row

from projects_import.db import migrations, snapshot

# SHA-256 of every released migration. A released migration is never edited again (a database
# that applied it would refuse to start): add a new one instead, and add its checksum here once
# it is released. 0004 and 0008 were edited before the first release: these are the released
# texts.
RELEASED = {
    "0001": "f871f075e8eaea49c6fbb76733e7f052120c8b9425094a70abdaa419e093ca0f",
    "0002": "47d55fe519b0c1a3db85ab90fd8817ead49773b8901030d24d4d4fead0aa5da3",
    "0003": "cc23dfd56cbe167f501723161fd3ba51000158167d6c965de0f3ff224006386a",
    "0004": "9baf9380de52acebf507626094b16f2bb07e67ca195045b6b0948e45e50e0240",
    "0005": "1a69c1e96eaa1c77ea4c8b774924e7f64e1d8f6739159ad2ca3c9ea7c68fe439",
    "0006": "a0392ecb1dd9f30042c875f48e274f0be2d57e371c208712bdd9a6321e35e943",
    "0007": "2eb4612bc37b01c32560e0f6304c947a8625d4158dc5036721ff236f7dc7fcd3",
    "0008": "283069c34316d123a9cebc1714f9511a90cc274502bf43f07c0c082e7f262e83",
    "0009": "dd6b58b3b21c85c8bffef03a21643cfea4bd7484fd218c13b9dd995159a56f46",
    "0010": "901948ff9c1aac06acfec9417ea839cc57379fa7b97b75a0d6aab413f9f937b7",
    "0011": "a0ae18728586c7e758e742c2ab26eb7cc62ffedc848deab5f5e6b0295f041152",
    "0012": "711b99ea18da9a616033a8255a7f87256278ccb11fc0be6b128fe588fd173966",
    "0015": "e7004c913d52fe690d6d74d4ab0efc8d7e65a1a09597daa87f5d0a4c54354a07",
    "0016": "6bb2772811a95e54856de191a9161870e65cc974ec799f1e3b7909862400e960",
    "0020": "069cf9be0340aefb19205ae69b85635e548fbeb7eaafab297ce647f8548686ee",
    "0021": "d2a9fe61daf450f8da62145f47b233e48aadf543fcb4c34530525f98a9d74f9f",
    "0024": "d7f515edc685e057108070c73cb7a0bf3544bc3787673f3a8cd8d30eecfdb58d",
    "0025": "8d77e2ba081bc8b4e56f7c5489279861c8f04b6c8fbfa2ea1e754c4feb0af2da",
    "0026": "4e141370703070c8b55b1f6eed159df5bfd8394b9e2c72e793c5b3bb318ba6ef",
    "0027": "4a4ede25c4431e789980fe0e3716bf3ef753cd604d911a4d498fa81bb3620ca2",
    "0028": "3ce0fc16789b857e1b4ec5de7a8c7d26abe938cebf32b340b60eb23b9419cc69",
    "0029": "e77eacd89f1aa8eec0da2bab48cd322009663dabe794d184e22697a811cb7a55",
    "0030": "3148884a7e679f0187e6e441a57f0601f9101be927ff495c8e4be6f268807101",
    "0031": "d9f18755d531d477ef2dbbc0e729ac1d041cc1d81213fd2e7264bd6ababca2d0",
    "0033": "ed3365abc15b8965b725deadb9879de80a65dd44068d2ac7414ec125213ed9fd",
    "0034": "813c50f4954e9569a5240732e2cc2dcce0d67cdbbf0a3a45bd418f0e0f10b3bf",
    "0037": "d928065c51c4839874c9757459a283c4ec09fce2cc57d714abd1501378cd72a8",
    "0038": "5b9028e1085d3b2332d59f1b172a38c2fb776bf293242082e3a287c86bc02549",
    "0039": "8fb12583616af61d991840686b566f6f63c24236a855286094c1187c2b646a5a",
}
# The last release whose runner had no definition files: a database it migrated holds the
# released migrations up to here and nothing else; this version's runner takes it from there.
LAST_RELEASE_BEFORE_DEFINITIONS = "0033"
REGENERATE = ".venv/bin/python -m projects_import.db.snapshot --write"


def test_released_migrations_are_unchanged() -> None:
    shipped = {m.version: m.checksum for m in migrations.available()}
    edited = sorted(v for v, checksum in RELEASED.items() if shipped.get(v) != checksum)
    assert not edited, (f"released migration(s) {', '.join(edited)} were edited or removed: "
                        "restore them and put the change in a new migration")


def test_migration_versions_are_unique_and_in_order() -> None:
    versions = [m.version for m in migrations.available()]
    assert versions == sorted(set(versions))
    assert all(v.isdigit() and len(v) == 4 for v in versions)


def is_supabase(conn: psycopg.Connection[Any]) -> bool:
    with conn.cursor(row_factory=tuple_row) as cur:
        found = cur.execute("select count(*) = 2 from pg_roles where rolname in"
                            " ('authenticator', 'supabase_admin')").fetchone()
    return bool(found and found[0])


def skip_on_supabase(conn: psycopg.Connection[Any]) -> None:
    if is_supabase(conn):
        pytest.skip("Supabase-shaped server: its own auth schema is not the shims' one")


def test_applying_every_migration_yields_the_schema_snapshot(database_url: str) -> None:
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        skip_on_supabase(conn)
        built = snapshot.dump(conn)
    expected = snapshot.committed()
    diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                        built.splitlines(keepends=True),
                                        "sql/schema.sql", "migrated database", n=1))
    assert built == expected, (
        f"the migrations no longer build sql/schema.sql; if the change is intended, "
        f"regenerate it with `{REGENERATE}` and commit it\n{diff[:6000]}")


def test_view_text_is_the_same_with_or_without_qualifiers() -> None:
    pg15 = "SELECT a.id, a.status FROM import_anomalies a WHERE (a.status <> 'x'::text)"
    pg18 = "SELECT id, status FROM import_anomalies a WHERE (status <> 'x'::text)"
    assert snapshot.view_text(pg15) == snapshot.view_text(pg18)


def test_a_database_of_the_release_before_definitions_reaches_the_same_schema(
        fresh_database: Callable[[str | None], str]) -> None:
    """Upgraded path: the migrations of the last release without definition files, as its
    runner applied them, then this version's runner: only what is new applies, and the catalog
    is the snapshot's, privileges and policies included."""
    url = fresh_database(None)
    with psycopg.connect(url, autocommit=True) as conn:
        skip_on_supabase(conn)
        conn.execute("create table public.projects_import_migrations (version text primary key,"
                     " name text not null, checksum text not null,"
                     " applied_at timestamptz not null default now())")
        for migration in migrations.available():
            if migration.version > LAST_RELEASE_BEFORE_DEFINITIONS:
                continue
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute("insert into public.projects_import_migrations"
                             " (version, name, checksum) values (%s, %s, %s)",
                             (migration.version, migration.name, migration.checksum))
    applied = migrations.migrate(url)
    assert applied == ([f"{m.version}_{m.name}" for m in migrations.available()
                        if m.version > LAST_RELEASE_BEFORE_DEFINITIONS]
                       + [d.version for d in migrations.definitions()])
    with psycopg.connect(url, row_factory=dict_row) as conn:
        built = snapshot.dump(conn)
    diff = "".join(difflib.unified_diff(snapshot.committed().splitlines(keepends=True),
                                        built.splitlines(keepends=True),
                                        "sql/schema.sql", "upgraded database", n=1))
    assert built == snapshot.committed(), f"the upgraded database differs\n{diff[:6000]}"
