"""One row through a LightGBM booster at the cost of the trees, not of the Python around them.

`Booster.predict` builds a predictor, copies its parameters and checks its input on every call:
~40 us for one row, several times what the trees cost. LightGBM's C API has a path made for
this (`LGBM_BoosterPredictForMatSingleRowFast`: the configuration prepared once, then one call
per row), which runs the same prediction code as `predict`, so its answers are equal to the bit
(tests/unit/test_lightgbm_row.py). The ctypes entry points are lightgbm.basic's own (`_LIB`,
`_safe_call`), which is why lightgbm is pinned exactly in pyproject.toml.
"""

from __future__ import annotations

import ctypes
import threading

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _LIB, _c_str, _safe_call

PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: the objective's transformation applied, as predict() does
FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class RowPredictor:
    """`predict(row)` for one float64 row of the booster's features (NaN for missing), equal to
    `booster.predict(row[None])[0]`. One prepared configuration, so calls are serialised."""

    def __init__(self, booster: lgb.Booster) -> None:
        if booster.num_model_per_iteration() != 1:
            raise ValueError("booster: one output per row expected (a regressor or a binary classifier)")
        self.booster = booster  # the configuration points into it: keep it alive
        self.columns = booster.num_feature()
        self.handle = ctypes.c_void_p()
        # as predict(): up to the best iteration when one was recorded, else every tree (0 means all)
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(PREDICT_NORMAL), ctypes.c_int(0), ctypes.c_int(booster.best_iteration),
            ctypes.c_int(FLOAT64), ctypes.c_int32(self.columns), _c_str(""), ctypes.byref(self.handle)))
        self.out = np.zeros(1, dtype=np.float64)
        self.out_pointer = self.out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self.out_length = ctypes.c_int64(0)
        self.lock = threading.Lock()

    def predict(self, row: np.ndarray) -> float:
        if row.shape != (self.columns,) or row.dtype != np.float64 or not row.flags.c_contiguous:
            raise ValueError(f"row: expected {self.columns} contiguous float64 values, got shape {row.shape} of {row.dtype}")
        with self.lock:
            _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self.handle, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(self.out_length), self.out_pointer))
            return float(self.out[0])

    def __del__(self) -> None:
        if getattr(self, "handle", None):  # absent when __init__ refused the booster
            _LIB.LGBM_FastConfigFree(self.handle)
