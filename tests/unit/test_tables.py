import pandas as pd
import pytest

from training.common.tables import TableError, read_table, write_table


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_round_trip(tmp_path, name):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    write_table(frame, tmp_path / name)
    assert read_table(tmp_path / name)["a"].tolist() == [1, 2]


def test_clear_errors(tmp_path):
    with pytest.raises(TableError, match="unsupported file type"):
        read_table(tmp_path / "t.xlsx")
    with pytest.raises(TableError, match="no such file"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(TableError, match="cannot read"):
        read_table(tmp_path / "bad.parquet")
