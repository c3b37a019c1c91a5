"""Refused requests reach the log as one line without their input; server errors keep their traceback."""

from __future__ import annotations

import logging

import bentoml
import pytest
from pydantic import BaseModel, ValidationError

from bentos.common.logs import BENTOML_REQUEST_LOGGER, NoPayloadInRefusals


class User(BaseModel):
    user_id: str
    age: float


def logged(error: BaseException) -> logging.LogRecord:
    """The record BentoML's log_exception makes for `error`, after the filter."""
    try:
        raise error
    except BaseException:
        logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "Exception on %s [%s]", ("/predict", "POST"),
                                   exc_info=__import__("sys").exc_info())
    assert NoPayloadInRefusals().filter(record)
    return record


def test_a_validation_error_keeps_its_fields_and_loses_its_values():
    with pytest.raises(ValidationError) as caught:
        User.model_validate({"user_id": 12, "age": "forty-SECRET"})
    record = logged(caught.value)
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage() == "refused /predict [POST]: 400 validation error (2) in age, user_id"
    assert "SECRET" not in record.getMessage()


def test_a_not_found_naming_a_user_becomes_its_status_and_kind():
    record = logged(bentoml.exceptions.NotFound("user_id: no events for user player-SECRET-7"))
    assert record.getMessage() == "refused /predict [POST]: 404 NotFound" and record.exc_info is None


def test_a_server_error_keeps_its_traceback():
    record = logged(RuntimeError("boom"))
    assert record.levelno == logging.ERROR and record.exc_info is not None and record.getMessage() == "Exception on /predict [POST]"
