"""Uploaded tables for the bulk endpoint: a Parquet or CSV file -> a DataFrame, or a clear error.

Rows and columns are counted before anything is decoded: from a Parquet file's footer, and from a
CSV file's line breaks and header. A 655 KB Parquet file can hold 150 million rows; decoding it
first and counting after took a worker from 455 MB to 1.63 GB."""

from __future__ import annotations

from pathlib import Path

from training.common.lazy import lazy

fastparquet = lazy("fastparquet")
pd = lazy("pandas")

PARQUET_MAGIC = b"PAR1"
MAX_TABLE_ROWS = 1_000_000
MAX_TABLE_COLUMNS = 200  # the model reads a dozen; a table with thousands of columns is not a user table
MAX_TABLE_CELLS = 30_000_000  # decoded, ~240 MB of float64: a million users with 30 columns
CSV_SCAN_CHUNK = 1 << 20


class UploadError(ValueError):
    """The upload is not a table we can score; the message names the problem."""


def read_upload(path: Path) -> pd.DataFrame:
    """Parquet (detected by its magic bytes) or CSV; at least one row, at most MAX_TABLE_ROWS rows
    and MAX_TABLE_COLUMNS columns."""
    path = Path(path)
    size = path.stat().st_size
    if not size:
        raise UploadError("table: empty upload")
    with path.open("rb") as file:
        head = file.read(4)
        file.seek(max(size - 4, 0))
        tail = file.read(4)
    try:
        if head == PARQUET_MAGIC:
            if tail != PARQUET_MAGIC:
                raise UploadError("table: truncated Parquet file")
            table = fastparquet.ParquetFile(str(path))
            check_shape(table.count(), len(table.columns))
            frame = table.to_pandas()
        else:
            check_shape(*csv_shape(path))
            frame = pd.read_csv(path)
    except UploadError:
        raise
    # Any failure to parse is the upload's fault; fastparquet reports corrupt files as assorted
    # TypeErrors, IndexErrors and ValueErrors rather than one exception class.
    except Exception as error:
        raise UploadError(f"table: not a readable Parquet or CSV table ({type(error).__name__}: {error})") from error
    if frame.empty:
        raise UploadError("table: no rows")
    check_shape(len(frame), len(frame.columns))  # a CSV's quoted line breaks can make the scan's count low
    return frame


def check_shape(rows: int, columns: int) -> None:
    if rows > MAX_TABLE_ROWS:
        raise UploadError(f"table: {rows:,} rows is over the limit of {MAX_TABLE_ROWS:,} per request")
    if columns > MAX_TABLE_COLUMNS:
        raise UploadError(f"table: {columns:,} columns is over the limit of {MAX_TABLE_COLUMNS:,}")
    if rows * columns > MAX_TABLE_CELLS:
        raise UploadError(f"table: {rows:,} rows x {columns:,} columns is over the limit of {MAX_TABLE_CELLS:,} cells")


def csv_shape(path: Path) -> tuple[int, int]:
    """Rows (line breaks after the header's, an upper bound) and columns (the header's fields) of a
    CSV file, read in chunks without parsing it; stops counting past the row limit."""
    breaks, header, last = 0, None, b"\n"
    with path.open("rb") as file:
        while (chunk := file.read(CSV_SCAN_CHUNK)) and breaks <= MAX_TABLE_ROWS:
            header = chunk.split(b"\n", 1)[0] if header is None else header
            breaks, last = breaks + chunk.count(b"\n"), chunk[-1:]
    lines = breaks + (last != b"\n")  # a last line without a line break
    return lines - 1, (header or b"").count(b",") + 1
