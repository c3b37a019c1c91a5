"""A real purchase log as a spend table: CDNOW's 69,659 transactions of 23,570 customers
(January 1997 to June 1998), as the `lifetimes` package ships it.

Each monthly cutoff gives every customer who had bought by then one row: the history before the
cutoff as features, the spend of the next 30 days as the target, zero for most of them (about
92%), heavy-tailed for the rest, as in the domain's population. A customer has a row per cutoff,
so training splits by customer (`--id customer_id`): no customer is in two splits. There is no
nudge, hence no group column: every row is a control row.

`playserve data spend --source cdnow --out cdnow.parquet` writes it; the model tests train on it.
"""

from __future__ import annotations

import importlib.metadata

import pandas as pd

ID = "customer_id"
TARGET = "spend_next_30d"
HORIZON_DAYS = 30
WINDOWS_DAYS = (30, 90, 180)  # recent activity windows before a cutoff
# Month ends from the sixth month (every customer joined in the first quarter of 1997, so each has
# some history) to the last with 30 days of log after it.
CUTOFFS = tuple(pd.date_range("1997-06-30", "1998-05-31", freq="ME"))


def transactions() -> pd.DataFrame:
    """customer_id, date, cds, value: the log as the package ships it, read without importing
    lifetimes (its import pulls its fitting stack)."""
    path = importlib.metadata.distribution("lifetimes").locate_file("lifetimes/datasets/CDNOW_master.txt")
    log = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame({ID: log["customer_id"], "date": pd.to_datetime(log["date"], format="%Y%m%d"),
                         "cds": log["number_of_cds"].astype(int), "value": log["dollar_value"].astype(float)})


def snapshot(log: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """One row per customer who bought on or before `cutoff`: history features and the next 30 days' spend."""
    past = log[log["date"] <= cutoff]
    days_ago = (cutoff - past["date"]).dt.days
    by_customer = past.groupby(ID)
    rows = pd.DataFrame({
        "tenure_days": (cutoff - by_customer["date"].min()).dt.days,
        "days_since_last": (cutoff - by_customer["date"].max()).dt.days,
        "purchase_days": by_customer["date"].nunique(),
        "orders": by_customer.size(),
        "cds": by_customer["cds"].sum(),
        "spend": by_customer["value"].sum(),
        "average_order": by_customer["value"].mean(),
        "largest_order": by_customer["value"].max(),
    })
    for window in WINDOWS_DAYS:
        recent = past[days_ago < window].groupby(ID)
        rows[f"orders_{window}d"] = recent.size().reindex(rows.index, fill_value=0)
        rows[f"spend_{window}d"] = recent["value"].sum().reindex(rows.index, fill_value=0.0)
    future = log[(log["date"] > cutoff) & (log["date"] <= cutoff + pd.Timedelta(days=HORIZON_DAYS))]
    rows[TARGET] = future.groupby(ID)["value"].sum().reindex(rows.index, fill_value=0.0)
    return rows.rename_axis(ID).reset_index()


def table(log: pd.DataFrame | None = None, cutoffs=CUTOFFS) -> pd.DataFrame:
    """Every cutoff's snapshot, stacked (283,000 rows for the shipped log)."""
    log = transactions() if log is None else log
    return pd.concat([snapshot(log, pd.Timestamp(cutoff)) for cutoff in cutoffs], ignore_index=True)
