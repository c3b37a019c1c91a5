import json

import numpy as np
import pydantic
import pytest

from bentos.spend.frames import Encoder
from bentos.spend.schemas import outcome_record, user_record
from training.spend import data
from training.spend.serving.features import infer_spec, to_model_frame

FRAME = data.generate(50, seed=3).frame
SPEC = infer_spec(FRAME, exclude={data.ID, data.TARGET, data.GROUP})
RECORDS = FRAME.drop(columns=[data.TARGET, data.GROUP]).astype(object).where(FRAME.notna(), None).to_dict("records")


def test_request_records_encode_as_lightgbm_encodes_the_table():
    """The matrix holds what LightGBM makes of the table's frame: numbers as they are, NaN for
    missing, and a category's position among the training categories (pandas' codes; NaN for a
    missing value), in any case."""
    Record = pydantic.TypeAdapter(user_record(SPEC, data.ID))
    records = [Record.validate_python(r) for r in [*RECORDS, {**RECORDS[0], "gender": "FeMale"}, {**RECORDS[1], "gender": None}]]
    assert records[0]["id"] == RECORDS[0][data.ID]
    matrix = Encoder(SPEC).matrix(Encoder(SPEC).rows(records))
    table = to_model_frame(FRAME, SPEC)
    expected = np.column_stack([table[c].to_numpy(float) for c in SPEC.numeric]
                               + [table[c].cat.codes.replace(-1, np.nan).to_numpy(float) for c in SPEC.categorical])
    np.testing.assert_array_equal(matrix[:len(RECORDS)], expected)
    gender = SPEC.columns.index("gender")
    assert matrix[-2, gender] == SPEC.categorical["gender"].index("female") and np.isnan(matrix[-1, gender])
    assert Encoder(SPEC).matrix(Encoder(SPEC).rows([])).shape == (0, len(SPEC.columns))


@pytest.mark.parametrize(
    "change, field",
    [({"age": "old"}, "age"), ({"login_count": float("nan")}, "login_count"), ({"topup_amount": float("inf")}, "topup_amount")],
)
def test_bad_values_name_the_field(change, field):
    with pytest.raises(pydantic.ValidationError) as error:
        pydantic.TypeAdapter(user_record(SPEC, data.ID)).validate_python({**RECORDS[0], **change})
    assert error.value.errors()[0]["loc"] == (field,)


def test_an_unknown_category_is_refused_naming_the_allowed_values_and_numbers_are_not_strings():
    Record = pydantic.TypeAdapter(user_record(SPEC, data.ID))
    for value in ("robot", "", 3):
        with pytest.raises(pydantic.ValidationError) as error:
            Record.validate_python({**RECORDS[0], "gender": value})
        assert error.value.errors()[0]["loc"] == ("gender",) and "'female', 'male' or 'unknown'" in str(error.value)
    with pytest.raises(pydantic.ValidationError) as error:
        Record.validate_json(json.dumps({**RECORDS[0], "age": "30"}))
    assert error.value.errors()[0]["loc"] == ("age",)
    schema = Record.json_schema(by_alias=True)["properties"]["gender"]
    assert {"enum": ["female", "male", "unknown"], "type": "string"} in schema["anyOf"]


def test_missing_feature_is_refused_but_null_is_missing_value():
    Record = pydantic.TypeAdapter(user_record(SPEC, data.ID))
    with pytest.raises(pydantic.ValidationError, match="shop_visit_days"):
        Record.validate_python({k: v for k, v in RECORDS[0].items() if k != "shop_visit_days"})
    encoder = Encoder(SPEC)
    assert np.isnan(encoder.matrix(encoder.rows([Record.validate_python({**RECORDS[0], "age": None})]))[0, SPEC.columns.index("age")])


def test_outcome_needs_group_and_non_negative_spend():
    Outcome = pydantic.TypeAdapter(outcome_record(SPEC, data.ID))
    with pytest.raises(pydantic.ValidationError, match="actual_spend"):
        Outcome.validate_python({**RECORDS[0], "group": "control", "actual_spend": -5})
    assert Outcome.validate_python({**RECORDS[0], "group": "nudged", "actual_spend": 10})["group"] == "nudged"
