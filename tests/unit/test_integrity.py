"""A model's files against the digests recorded when it was registered."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from training.common import integrity


def model(directory, recorded):
    return SimpleNamespace(tag="m:v1", path=str(directory), info=SimpleNamespace(metadata=recorded))


@pytest.fixture
def registered(tmp_path):
    (tmp_path / "weights.onnx").write_bytes(b"\x08\x01" * 1000)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "thresholds.json").write_text("{}")
    (tmp_path / "model.yaml").write_text("BentoML's record, which holds the digests")
    return tmp_path, {integrity.METADATA_KEY: integrity.digests(tmp_path)}


def test_digests_cover_every_file_but_bentomls_record(registered):
    directory, recorded = registered
    assert sorted(recorded[integrity.METADATA_KEY]) == ["sub/thresholds.json", "weights.onnx"]
    (directory / "model.yaml").write_text("rewritten by BentoML")
    assert integrity.verified(model(directory, recorded)).path == str(directory)


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda d: (d / "weights.onnx").write_bytes(b"\x08\x01" * 500), "weights.onnx: not the registered file"),  # truncated
    (lambda d: (d / "sub" / "thresholds.json").unlink(), "sub/thresholds.json: missing"),
    (lambda d: (d / "extra.bin").write_bytes(b"?"), "extra.bin: not registered"),
])
def test_a_truncated_missing_or_added_file_is_refused_by_name(registered, damage, problem):
    directory, recorded = registered
    damage(directory)
    with pytest.raises(integrity.IntegrityError, match="corrupt, not serving it") as refused:
        integrity.verified(model(directory, recorded))
    assert problem in str(refused.value)


def test_a_model_registered_before_digests_is_served_with_a_warning(registered, caplog):
    directory, _ = registered
    assert integrity.verified(model(directory, {})).path == str(directory)
    assert "no recorded file digests" in caplog.text
