import numpy as np
import pydantic
import pytest

from bentos.spend.frames import records_to_frame
from bentos.spend.schemas import outcome_record, user_record
from training.spend import data
from training.spend.serving.features import infer_spec, to_model_frame

FRAME = data.generate(50, seed=3).frame
SPEC = infer_spec(FRAME, exclude={data.ID, data.TARGET, data.GROUP})
RECORDS = FRAME.drop(columns=[data.TARGET, data.GROUP]).astype(object).where(FRAME.notna(), None).to_dict("records")


def test_request_records_encode_like_a_table():
    Record = user_record(SPEC, data.ID)
    records = [Record.model_validate(r) for r in RECORDS]
    assert records[0].id == RECORDS[0][data.ID]
    via_records = records_to_frame(records, SPEC)
    via_table = to_model_frame(FRAME, SPEC)
    assert via_records.columns.tolist() == via_table.columns.tolist()
    for column in SPEC.numeric:
        np.testing.assert_array_equal(via_records[column].to_numpy(), via_table[column].to_numpy())
    assert via_records["gender"].astype(object).tolist() == via_table["gender"].astype(object).tolist()


@pytest.mark.parametrize(
    "change, field",
    [({"age": "old"}, "age"), ({"login_count": float("nan")}, "login_count"), ({"topup_amount": float("inf")}, "topup_amount")],
)
def test_bad_values_name_the_field(change, field):
    with pytest.raises(pydantic.ValidationError) as error:
        user_record(SPEC, data.ID).model_validate({**RECORDS[0], **change})
    assert error.value.errors()[0]["loc"] == (field,)


def test_missing_feature_is_refused_but_null_is_missing_value():
    Record = user_record(SPEC, data.ID)
    with pytest.raises(pydantic.ValidationError, match="shop_visit_days"):
        Record.model_validate({k: v for k, v in RECORDS[0].items() if k != "shop_visit_days"})
    assert np.isnan(records_to_frame([Record.model_validate({**RECORDS[0], "age": None})], SPEC)["age"][0])


def test_outcome_needs_group_and_non_negative_spend():
    Outcome = outcome_record(SPEC, data.ID)
    with pytest.raises(pydantic.ValidationError, match="actual_spend"):
        Outcome.model_validate({**RECORDS[0], "group": "control", "actual_spend": -5})
    assert Outcome.model_validate({**RECORDS[0], "group": "nudged", "actual_spend": 10}).group == "nudged"
