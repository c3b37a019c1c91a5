"""Uploaded tables for the bulk endpoint: Parquet or CSV bytes -> a DataFrame, or a clear error."""

from __future__ import annotations

import io
from pathlib import Path

import fastparquet
import pandas as pd

PARQUET_MAGIC = b"PAR1"
MAX_TABLE_ROWS = 1_000_000


class UploadError(ValueError):
    """The upload is not a table we can score; the message names the problem."""


def read_upload(path: Path) -> pd.DataFrame:
    """Parquet (detected by its magic bytes) or CSV; at least one row, at most MAX_TABLE_ROWS."""
    raw = Path(path).read_bytes()
    if not raw:
        raise UploadError("table: empty upload")
    if raw[:4] == PARQUET_MAGIC and raw[-4:] != PARQUET_MAGIC:
        raise UploadError("table: truncated Parquet file")
    try:
        if raw[:4] == PARQUET_MAGIC:
            frame = fastparquet.ParquetFile(io.BytesIO(raw)).to_pandas()
        else:
            frame = pd.read_csv(io.BytesIO(raw))
    # Any failure to parse is the upload's fault; fastparquet reports corrupt files as assorted
    # TypeErrors, IndexErrors and ValueErrors rather than one exception class.
    except Exception as error:
        raise UploadError(f"table: not a readable Parquet or CSV table ({type(error).__name__}: {error})") from error
    if frame.empty:
        raise UploadError("table: no rows")
    if len(frame) > MAX_TABLE_ROWS:
        raise UploadError(f"table: {len(frame):,} rows is over the limit of {MAX_TABLE_ROWS:,} per request")
    return frame
