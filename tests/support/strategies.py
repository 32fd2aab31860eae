"""Hypothesis strategies for hostile import payloads: keys and values from all of Unicode
(lone surrogates and NUL included), digit strings past Python's int() limit, nesting."""

from __future__ import annotations

from hypothesis import strategies as st

from projects_import.imports.contract import COUNT_FIELDS, DATE_FIELD, TEXT_FIELDS

FIELDS = (*TEXT_FIELDS, *COUNT_FIELDS, DATE_FIELD)
# Text that PostgreSQL and a UTF-8 response cannot hold, besides ordinary text.
awkward = st.sampled_from(["\ud800", "\udfff", "\x00", " ", "-1", "١٢", "2025-02-30", "1e3"])
texts = st.lists(st.one_of(st.characters(), awkward), max_size=12).map("".join)
# Digit strings past Python's 4300-digit int() limit, and long runs of zeros.
long_digits = st.builds(lambda digit, n, tail: digit * n + tail, st.sampled_from("09"),
                        st.integers(0, 6000), st.sampled_from(["", "7"]))
keys = st.one_of(st.sampled_from(FIELDS), texts,
                 st.integers(1, 400).map(lambda n: "k" * n))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                    st.floats(allow_nan=False, allow_infinity=False), texts, long_digits)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)), max_leaves=8)
rows = st.dictionaries(keys, values, max_size=8).map(
    lambda row: {"stage_application": "STG-1", **row})
envelopes = st.dictionaries(st.one_of(keys, st.sampled_from(
    ["tenant_id", "batch_id", "source", "correlation_id"])), values, max_size=4)
