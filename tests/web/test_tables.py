"""Decoding stored answers into columns: Arrow's JSON reader (the fast path) gives exactly what the
standard library gives, and a chunk Arrow cannot type falls back to it with the same result."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from web.tables import _documents, _documents_python

NAMES = ["sex", "devices", "birth_year", "comment", "dsi_score", "consent", "q_bool"]
TEXT = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyỳỹ ,\"\n'=+-", max_size=12)
CODES = st.lists(st.sampled_from(["1", "2", "phone", "máy_tính"]), max_size=3, unique=True)
VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                  st.floats(allow_nan=False, allow_infinity=False, width=64), TEXT, CODES)


def _by_name(draw_name: str):
    """Each question keeps one kind of answer, as a survey's responses do (with missing ones)."""
    kinds = {"sex": st.sampled_from(["1", "2"]), "devices": CODES, "birth_year": st.integers(1920, 2010),
             "comment": TEXT, "dsi_score": st.floats(0, 100), "consent": st.just("1"), "q_bool": st.booleans()}
    return st.one_of(st.none(), kinds[draw_name])


SURVEY_DOCUMENTS = st.lists(st.fixed_dictionaries({}, optional={n: _by_name(n) for n in NAMES}), min_size=1,
                            max_size=30)
ANY_DOCUMENTS = st.lists(st.dictionaries(st.sampled_from(NAMES), VALUE, max_size=5), min_size=1, max_size=12)


def _texts(documents: list[dict]) -> list[str]:
    return [json.dumps(d, ensure_ascii=False) for d in documents]


@settings(max_examples=200, deadline=None)
@given(SURVEY_DOCUMENTS)
def test_arrow_decoding_gives_what_the_standard_library_gives(documents):
    texts = _texts(documents)
    pd.testing.assert_frame_equal(_documents(texts), _documents_python(texts))


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(ANY_DOCUMENTS)
def test_answers_whose_kind_changes_between_responses_decode_the_same(documents):
    texts = _texts(documents)
    pd.testing.assert_frame_equal(_documents(texts), _documents_python(texts))


def test_codes_chosen_become_one_column_per_code_and_diacritics_survive():
    frame = _documents(_texts([{"devices": ["phone", "máy_tính"], "comment": "Nguyễn Thị Ánh"},
                               {"devices": []}, {"devices": ["phone"], "comment": None}, {}]))
    assert frame["devices_phone"].fillna(0).tolist() == [1, 0, 1, 0] and frame["devices_phone"].isna().sum() == 2
    assert frame["devices_máy_tính"].fillna(0).tolist() == [1, 0, 0, 0]
    assert frame["comment"].iloc[0] == "Nguyễn Thị Ánh" and frame["comment"].iloc[1:].isna().all()


def test_a_roster_counts_its_rows_and_a_mixed_answer_keeps_each_value():
    roster = _texts([{"members": [{"age": 30}, {"age": 5}], "size": 2}, {"members": [], "size": 1}])
    mixed = _texts([{"birth_year": 1970}, {"birth_year": "không nhớ"}])
    pd.testing.assert_frame_equal(_documents(mixed), _documents_python(mixed))
    assert _documents(mixed)["birth_year"].tolist() == [1970, "không nhớ"]
    assert _documents(roster)["size"].tolist() == [2, 1]
    assert _documents(roster)["members"].tolist() == [2, 0]
    nested = _texts([{"a": [[1, 2]], "b": 123456789012345678901234567890}, {"a": []}])
    assert _documents(nested)["a"].tolist() == [1, 0] and _documents(nested)["b"].iloc[0] > 1e29
