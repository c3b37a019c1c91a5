"""Read and write the tables users bring: CSV or Parquet, chosen by file extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMATS = (".csv", ".parquet", ".pq")


class TableError(ValueError):
    pass


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TableError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    return "csv" if suffix == ".csv" else "parquet"


def read_parquet(path: Path) -> pd.DataFrame:
    """Read through Arrow's own file system. Given a path alone, pandas opens a Python file that
    Arrow's threads then read under the GIL, and a command that ends right after reading could abort
    at exit (SIGABRT, "terminate called without an active exception", apache/arrow#34314)."""
    from pyarrow import fs

    return pd.read_parquet(str(path), filesystem=fs.LocalFileSystem())


def read_table(path: Path) -> pd.DataFrame:
    path = Path(path)
    kind = _format(path)
    if not path.is_file():
        raise TableError(f"{path}: no such file")
    try:
        return pd.read_csv(path) if kind == "csv" else read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise TableError(f"{path}: cannot read as {kind}: {error}") from error


def write_table(frame: pd.DataFrame, path: Path) -> None:
    path = Path(path)
    kind = _format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def id_frame(table: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    """The id column of a scored table, to put the outputs beside; no columns when it has none."""
    if id_column in table.columns:
        return table[[id_column]].reset_index(drop=True)
    return pd.DataFrame(index=range(len(table)))
