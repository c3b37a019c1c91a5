"""The CDNOW purchase log as spend rows: a handful of transactions whose features can be counted by hand."""

import pandas as pd

from training.spend import cdnow

LOG = pd.DataFrame({
    cdnow.ID: ["a", "a", "a", "b", "c"],
    "date": pd.to_datetime(["1997-01-10", "1997-05-20", "1997-07-15", "1997-06-30", "1997-07-05"]),
    "cds": [1, 2, 3, 1, 4],
    "value": [10.0, 30.0, 25.0, 5.0, 40.0],
})
CUTOFF = pd.Timestamp("1997-06-30")


def test_a_snapshot_has_the_history_before_and_the_spend_of_the_30_days_after():
    rows = cdnow.snapshot(LOG, CUTOFF).set_index(cdnow.ID)
    assert list(rows.index) == ["a", "b"]  # c had not bought yet
    a, b = rows.loc["a"], rows.loc["b"]
    assert a["tenure_days"] == 171 and a["days_since_last"] == 41 and a["orders"] == 2 and a["cds"] == 3
    assert a["spend"] == 40.0 and a["average_order"] == 20.0 and a["largest_order"] == 30.0
    assert a["orders_30d"] == 0 and a["orders_90d"] == 1 and a["spend_90d"] == 30.0 and a["spend_180d"] == 40.0
    assert a[cdnow.TARGET] == 25.0  # 15 July is within 30 days of the cutoff
    assert b["days_since_last"] == 0 and b["orders_30d"] == 1 and b[cdnow.TARGET] == 0.0


def test_the_table_stacks_one_snapshot_per_cutoff():
    table = cdnow.table(LOG, cutoffs=[CUTOFF, pd.Timestamp("1997-07-31")])
    assert len(table) == 2 + 3 and table[cdnow.ID].tolist() == ["a", "b", "a", "b", "c"]
    assert table[cdnow.TARGET].tolist() == [25.0, 0.0, 0.0, 0.0, 0.0]


def test_the_shipped_log_reads_whole():
    log = cdnow.transactions()
    assert len(log) == 69_659 and log[cdnow.ID].nunique() == 23_570
