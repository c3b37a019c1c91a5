"""Request fields every service shares."""

from __future__ import annotations

from typing import Annotated, Optional, Union

from pydantic import Field

MAX_ID_CHARS = 128  # a user id longer than this is no game's id; every route bounds it the same way
# A user id as callers send it: a number (64-bit) or a string of at most MAX_ID_CHARS.
UserId = Optional[Union[Annotated[int, Field(ge=-(2**63), le=2**63 - 1)], Annotated[str, Field(max_length=MAX_ID_CHARS)]]]
