import numpy as np
import pandas as pd
import pytest

from training.spend.serving.features import FeatureSpec, SchemaError, infer_spec, to_model_frame


def table():
    return pd.DataFrame({
        "uid": ["a", "b", "c"], "y": [0.0, 10.0, 0.0],
        "visits": [1, 2, None], "vip": [True, False, True], "country": ["kr", "jp", None],
    })


def test_infer_spec_kinds_and_exclusions():
    spec = infer_spec(table(), exclude={"uid", "y"})
    assert spec.numeric == ["visits", "vip"]
    assert spec.categorical == {"country": ["jp", "kr"]}
    assert FeatureSpec.from_dict(spec.to_dict()) == spec


def test_identifier_like_strings_and_dates_are_refused():
    many = pd.DataFrame({"token": [f"t{i}" for i in range(500)], "y": 0.0})
    with pytest.raises(SchemaError) as error:
        infer_spec(many, exclude={"y"})
    assert error.value.field == "token"
    dated = pd.DataFrame({"day": pd.to_datetime(["2026-01-01"]), "y": [1.0]})
    with pytest.raises(SchemaError, match="day"):
        infer_spec(dated, exclude={"y"})


def test_model_frame_encodes_and_keeps_missing():
    spec = infer_spec(table(), exclude={"uid", "y"})
    other = pd.DataFrame({"country": ["kr", "fr", None], "vip": [False, True, False], "visits": [3, None, 1], "extra": 1})
    frame = to_model_frame(other, spec)
    assert list(frame.columns) == spec.columns
    assert frame["vip"].tolist() == [0.0, 1.0, 0.0]
    assert np.isnan(frame["visits"][1])
    assert frame["country"].tolist()[0] == "kr"
    assert frame["country"].isna().tolist() == [False, True, True]  # unseen "fr" and None are missing


def test_categories_match_in_any_case_and_a_callers_unseen_value_is_refused_naming_the_allowed_ones():
    spec = infer_spec(table(), exclude={"uid", "y"})
    other = table().assign(country=["KR", "Jp", None])
    assert to_model_frame(other, spec)["country"].tolist()[:2] == ["kr", "jp"]
    with pytest.raises(SchemaError) as error:
        to_model_frame(other.assign(country="fr"), spec, refuse_unseen=True)
    assert error.value.field == "country" and "'fr'" in error.value.problem and "jp, kr" in error.value.problem


@pytest.mark.parametrize(
    "change, field, problem",
    [
        (lambda f: f.drop(columns=["visits"]), "visits", "missing column"),
        (lambda f: f.assign(visits=["1", "two", "3"]), "visits", "expected a number"),
        (lambda f: f.assign(visits=[1.0, np.inf, 2.0]), "visits", "infinite"),
    ],
)
def test_bad_tables_name_the_column(change, field, problem):
    spec = infer_spec(table(), exclude={"uid", "y"})
    with pytest.raises(SchemaError) as error:
        to_model_frame(change(table()), spec)
    assert error.value.field == field and problem in error.value.problem
