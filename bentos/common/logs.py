"""What the services write to their logs: the route, status and sizes of each request (BentoML's
access log), never a payload and never a user id.

BentoML logs every refused request as an ERROR with its traceback, and the traceback's text holds
the input: a pydantic error quotes the offending value, a not-found names the user. This filter
turns a client error (a 4xx) into one line naming the route, the error's kind and, for a
validation error, the fields (without their values). Server errors (5xx) keep their traceback."""

from __future__ import annotations

import logging

BENTOML_REQUEST_LOGGER = "bentoml._internal.server.http_app"  # where BentoML's log_exception writes


def client_error(error: BaseException | None) -> str | None:
    """One line describing a client error without its input, or None for anything else."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        fields = sorted({".".join(str(p) for p in e["loc"] if not isinstance(p, int)) or "<request>" for e in error.errors()})
        return f"400 validation error ({error.error_count()}) in {', '.join(fields)}"
    if isinstance(error, BentoMLException) and error.error_code.value < 500:
        return f"{error.error_code.value} {type(error).__name__}"
    return None


class NoPayloadInRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        summary = client_error(record.exc_info[1]) if record.exc_info else None
        if summary:
            path, method = record.args if isinstance(record.args, tuple) and len(record.args) == 2 else ("?", "?")
            record.msg, record.args = "refused %s [%s]: %s", (path, method, summary)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def keep_payloads_out_of_logs() -> None:
    logger = logging.getLogger(BENTOML_REQUEST_LOGGER)
    if not any(isinstance(f, NoPayloadInRefusals) for f in logger.filters):
        logger.addFilter(NoPayloadInRefusals())
