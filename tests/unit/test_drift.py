"""PSI against the training reference: near zero for the training population, large for a
shifted one, and missing or unseen values counted as their own bin."""

import numpy as np
import pandas as pd
import pytest

from training.common.drift import DriftWindow, psi, reference_shares, reference_statistics, window_shares
from training.spend import data
from training.spend.serving.features import infer_spec


@pytest.fixture(scope="module")
def reference():
    frame = data.generate(20_000, seed=3).frame
    spec = infer_spec(frame, {data.ID, data.TARGET, data.GROUP})
    return reference_statistics(frame[spec.columns], spec.numeric, spec.categorical), spec


def test_psi_of_identical_shares_is_zero_and_grows_with_shift():
    expected = np.full(10, 0.1)
    assert psi(expected, expected) == pytest.approx(0.0)
    assert 0 < psi(expected, np.r_[0.15, np.full(9, 0.85 / 9)]) < psi(expected, np.r_[0.5, np.full(9, 0.5 / 9)])


def test_psi_counts_a_bin_that_empties_instead_of_dividing_by_zero():
    assert np.isfinite(psi([0.5, 0.5], [1.0, 0.0])) and psi([0.5, 0.5], [1.0, 0.0]) > 1


def test_fresh_sample_of_the_training_population_is_stable(reference):
    stats, spec = reference
    window = DriftWindow(stats)
    window.add(data.generate(5_000, seed=4).frame[spec.columns])
    values = window.psi()
    assert set(values) == set(spec.columns) and max(values.values()) < 0.1


def test_shifted_feature_is_flagged_and_others_are_not(reference):
    stats, spec = reference
    fresh = data.generate(5_000, seed=5).frame[spec.columns]
    fresh["age"] = fresh["age"] + 15  # an older audience
    window = DriftWindow(stats)
    window.add(fresh)
    values = window.psi()
    assert values["age"] > 0.25 and values["login_count"] < 0.1


def test_missing_and_unseen_categories_fall_in_the_missing_bin(reference):
    stats, spec = reference
    name = next(iter(spec.categorical))
    shares = window_shares(pd.Series([None, "never-seen", spec.categorical[name][0], None]), stats[name])
    assert shares[-1] == pytest.approx(0.75) and shares.sum() == pytest.approx(1.0)
    assert len(shares) == len(reference_shares(stats[name]))


def test_a_window_of_raw_values_bins_as_the_frame_does(reference):
    """Services keep request values as they came (numbers, strings, None) and bin them without pandas."""
    stats, spec = reference
    frame = data.generate(2_000, seed=8).frame[spec.columns]
    for name in spec.columns:
        column = frame[name].astype(object).where(frame[name].notna(), None)
        assert np.array_equal(window_shares(column.tolist(), stats[name]), window_shares(frame[name], stats[name])), name
    number = spec.numeric[0]
    mixed = [1.0, None, "2.5", "not a number", float("nan")]  # a table's text column: what is not a number is missing
    assert np.array_equal(window_shares(mixed, stats[number]), window_shares(pd.Series(mixed), stats[number]))
    assert window_shares(mixed, stats[number])[-1] == pytest.approx(0.6)


def test_window_keeps_the_newest_rows_and_waits_for_enough(reference):
    stats, spec = reference
    window = DriftWindow(stats, size=1_000, min_rows=600)
    window.add(data.generate(500, seed=6).frame[spec.columns])
    assert window.psi() == {}
    window.add(data.generate(2_000, seed=7).frame[spec.columns])
    assert len(window.rows["age"]) == 1_000 and set(window.psi()) == set(spec.columns)


def test_rows_of_one_feature_or_many_are_tuples_the_window_reads():
    from training.common.drift import Rows, values_of

    assert values_of(["a"])({"a": 1.0, "b": 2}) == (1.0,) and values_of(["b", "a"])({"a": 1.0, "b": 2}) == (2, 1.0)
    window = DriftWindow({"a": {"edges": [0.5], "shares": [0.5, 0.5], "missing_share": 0.0}}, size=3, min_rows=1)
    window.add(Rows(["a"], [values_of(["a"])({"a": v}) for v in (0.1, 0.9, None, 0.2)]))
    assert list(window.rows["a"]) == [0.9, None, 0.2]


WORKER = """
import sys, numpy as np
from training.common.drift import SharedCounts
shared = SharedCounts(sys.argv[1], "unit", {"a": {"edges": [0.5], "shares": [0.5, 0.5], "missing_share": 0.0}})
shared.total({"a": np.array([0, 7, 1])})
print("published", flush=True)
sys.stdin.readline()
"""


def worker(directory):
    """Another process publishing a window of 7 rows above the edge and one missing."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", WORKER, str(directory)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "published\n"
    return process


def test_workers_windows_add_up_while_they_run(tmp_path):
    from training.common.drift import SharedCounts

    reference = {"a": {"edges": [0.5], "shares": [0.5, 0.5], "missing_share": 0.0}}
    shared = SharedCounts(tmp_path, "unit", reference)
    other, killed = worker(tmp_path), worker(tmp_path)
    assert shared.total({"a": np.array([3, 0, 0])})["a"].tolist() == [3, 14, 2]
    killed.kill()  # a crashed worker's file stays behind, but its counts no longer count
    killed.wait()
    assert len(list(tmp_path.glob("drift-unit-*.npy"))) == 3
    assert shared.total({"a": np.array([3, 0, 0])})["a"].tolist() == [3, 7, 1]
    other.communicate("")  # a worker that ends removes its file
    assert shared.total({"a": np.array([3, 1, 0])})["a"].tolist() == [3, 1, 0]
    assert len(list(tmp_path.glob("drift-unit-*.npy"))) == 2


def test_psi_of_added_up_windows_is_that_of_all_their_rows(reference):
    stats, spec = reference
    first, second, both = (DriftWindow(stats, size=2_000) for _ in range(3))
    shifted = data.generate(1_000, seed=8).frame[spec.columns].assign(age=lambda f: f.age + 30)
    usual = data.generate(1_000, seed=9).frame[spec.columns]
    first.add(shifted), second.add(usual), both.add(pd.concat([shifted, usual]))
    added = {name: first.counts()[name] + second.counts()[name] for name in stats}
    assert first.psi(added) == pytest.approx(both.psi())
    assert second.psi()["age"] < 0.1 < 0.25 < first.psi(added)["age"]  # one worker's shifted rows show in the sum
