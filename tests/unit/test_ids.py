"""Aggregate ids are the name-based UUIDs (version 5) they always were."""

from __future__ import annotations

from uuid import NAMESPACE_URL, uuid5

from hypothesis import given
from hypothesis import strategies as st

from smsledger.domain.ids import number_id, scoped_id

ROOT = uuid5(NAMESPACE_URL, "https://smsledger.dev/ids")


@given(st.text(), st.text(), st.text())
def test_a_scoped_id_is_the_uuid5_of_account_kind_and_key(account, kind, key):
    assert scoped_id(account, kind, key) == uuid5(ROOT, f"{account}\x1f{kind}\x1f{key}")


@given(st.text())
def test_a_number_id_is_the_uuid5_of_the_number(number):
    assert number_id(number) == uuid5(ROOT, f"number\x1f{number}")
