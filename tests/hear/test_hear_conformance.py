"""bot.hear.conformance: the validator's checks on the example model and on broken modules."""

from __future__ import annotations

import json

import pytest

from bot.hear.conformance import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    ConformanceReport,
    run_conformance,
)

pytestmark = pytest.mark.usefixtures("module_path")

EXPECTED_NAMES = [
    "import",
    "load_model_exists",
    "load_model",
    "model_type",
    "to_device",
    "eval_mode",
    "sample_rate",
    "scene_embedding_size",
    "timestamp_embedding_size",
    "timestamp_embeddings[1.07s]",
    "timestamp_hop[1.07s]",
    "timestamp_range[1.07s]",
    "timestamp_embeddings[1.98s]",
    "timestamp_hop[1.98s]",
    "timestamp_range[1.98s]",
    "timestamp_embeddings[4.0s]",
    "timestamp_hop[4.0s]",
    "timestamp_range[4.0s]",
    "scene_embeddings",
]


def _status(report: ConformanceReport) -> dict[str, str]:
    return {check.name: check.status for check in report.checks}


def _detail(report: ConformanceReport, name: str) -> str:
    return next(check.detail for check in report.checks if check.name == name)


def test_example_model_passes_every_check() -> None:
    report = run_conformance("hear_example_model", device="cpu")
    assert [c.name for c in report.checks] == EXPECTED_NAMES
    assert set(_status(report).values()) == {PASS}, report.render_text()
    assert report.ok
    assert "(2, 22, 128) float32" in _detail(report, "timestamp_embeddings[1.07s]")
    assert "50.000 ms" in _detail(report, "timestamp_hop[4.0s]")
    assert _detail(report, "scene_embeddings") == "embeddings (4, 128) float32"


def test_example_model_options_and_weights(tmp_path) -> None:
    import hear_example_model

    model = hear_example_model.load_model(sample_rate=44100, hop_ms=25.0)
    hear_example_model.save_weights(model, str(tmp_path / "w.json"))
    report = run_conformance("hear_example_model", str(tmp_path / "w.json"), device="cpu")
    assert report.ok, report.render_text()
    assert _detail(report, "sample_rate") == "44100"
    assert "load_model(" in _detail(report, "load_model")
    assert "25.000 ms" in _detail(report, "timestamp_hop[1.07s]")


def test_report_as_json_and_text() -> None:
    report = run_conformance("hear_example_model", options={"scale": 2.0}, device="cpu")
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is True and data["model_options"] == {"scale": 2.0}
    assert data["counts"] == {"pass": 19, "warn": 0, "fail": 0, "skip": 0}
    assert [c["name"] for c in data["checks"]] == EXPECTED_NAMES
    assert "TensorFlow" in data["note"]
    text = report.render_text()
    assert "hear_example_model conforms: 19 passed" in text


def test_wrong_dtype_fails() -> None:
    report = run_conformance("hear_fake_dtype", device="cpu")
    status = _status(report)
    assert not report.ok
    assert status["timestamp_embeddings[1.07s]"] == FAIL
    assert "torch.float64" in _detail(report, "timestamp_embeddings[1.07s]")
    assert status["timestamp_hop[1.07s]"] == SKIP
    assert status["scene_embeddings"] == FAIL
    assert "float32" in _detail(report, "scene_embeddings")


def test_nan_fails() -> None:
    report = run_conformance("hear_fake_nan", device="cpu")
    status = _status(report)
    assert status["timestamp_embeddings[1.07s]"] == PASS  # noise of mean ~0: no NaN here
    assert status["timestamp_embeddings[4.0s]"] == FAIL
    assert "NaN or infinite" in _detail(report, "timestamp_embeddings[4.0s]")
    assert not report.ok


def test_irregular_hop_fails() -> None:
    report = run_conformance("hear_fake_hop", device="cpu")
    status = _status(report)
    assert status["timestamp_embeddings[1.07s]"] == PASS
    assert status["timestamp_hop[1.07s]"] == FAIL
    assert "irregular hop" in _detail(report, "timestamp_hop[1.07s]")
    assert status["scene_embeddings"] == PASS
    assert not report.ok


def test_coarse_hop_only_warns() -> None:
    report = run_conformance("hear_fake_coarse", device="cpu")
    status = _status(report)
    assert status["timestamp_hop[1.98s]"] == WARN
    assert "100.000 ms" in _detail(report, "timestamp_hop[1.98s]")
    assert report.ok


def test_timestamps_past_the_end_fail() -> None:
    report = run_conformance("hear_example_model", options={"fault": "late_timestamps"})
    assert _status(report)["timestamp_range[1.07s]"] == FAIL
    assert "end after the audio" in _detail(report, "timestamp_range[1.07s]")


def test_import_error_fails_and_skips_the_rest() -> None:
    report = run_conformance("hear_fake_import_error", device="cpu")
    status = _status(report)
    assert status["import"] == FAIL
    detail = _detail(report, "import")
    assert "ModuleNotFoundError" in detail and "hear_dependency_that_does_not_exist" in detail
    assert "hear_fake_import_error.py" in detail  # where it happened
    assert [c.name for c in report.checks] == EXPECTED_NAMES
    assert all(status[name] == SKIP for name in EXPECTED_NAMES[1:])
    assert _detail(report, "scene_embeddings") == "skipped: import failed"


def test_missing_module() -> None:
    report = run_conformance("hear_no_such_module_anywhere", device="cpu")
    assert _status(report)["import"] == FAIL and not report.ok


def test_bad_module_name() -> None:
    report = run_conformance("os; rm -rf", device="cpu")
    assert _status(report)["import"] == FAIL
    assert "not a Python module name" in _detail(report, "import")


def test_module_without_load_model() -> None:
    report = run_conformance("json", device="cpu")
    assert _status(report)["load_model_exists"] == FAIL
    assert _status(report)["load_model"] == SKIP


def test_load_model_raising() -> None:
    report = run_conformance("hear_fake_load_raises", "missing.ckpt", device="cpu")
    status = _status(report)
    assert status["load_model"] == FAIL
    detail = _detail(report, "load_model")
    assert "FileNotFoundError" in detail and "missing.ckpt" in detail
    assert "hear_fake_load_raises.py" in detail
    assert all(status[name] == SKIP for name in EXPECTED_NAMES[3:])


def test_call_raising_skips_later_timestamp_checks() -> None:
    report = run_conformance("hear_fake_call_raises", device="cpu")
    status = _status(report)
    assert status["timestamp_embeddings[1.07s]"] == FAIL
    assert "ValueError: cannot frame this audio" in _detail(report, "timestamp_embeddings[1.07s]")
    later = [n for n in EXPECTED_NAMES if "[" in n and n != "timestamp_embeddings[1.07s]"]
    assert all(status[name] == SKIP for name in later)
    assert "raised" in _detail(report, "timestamp_embeddings[4.0s]")
    assert status["scene_embeddings"] == PASS


def test_sys_exit_is_a_failure_not_an_exit() -> None:
    report = run_conformance("hear_fake_exit", device="cpu")
    assert _status(report)["scene_embeddings"] == FAIL
    assert "SystemExit" in _detail(report, "scene_embeddings")


def test_non_torch_model_is_out_of_scope() -> None:
    report = run_conformance("hear_fake_not_module", device="cpu")
    status = _status(report)
    assert status["model_type"] == FAIL
    assert "TensorFlow" in _detail(report, "model_type")
    assert status["sample_rate"] == SKIP


def test_bad_sample_rate_and_size() -> None:
    report = run_conformance("hear_fake_bad_rate", device="cpu")
    status = _status(report)
    assert status["sample_rate"] == FAIL and "8000" in _detail(report, "sample_rate")
    assert status["scene_embedding_size"] == FAIL
    assert "must be an int" in _detail(report, "scene_embedding_size")
    assert status["timestamp_embedding_size"] == PASS
    assert status["scene_embeddings"] == SKIP


def test_example_model_faults() -> None:
    expectations = {
        "nan": ("timestamp_embeddings[1.07s]", "NaN"),
        "float64": ("scene_embeddings", "float32"),
        "irregular_hop": ("timestamp_hop[1.98s]", "irregular"),
        "wrong_size": ("scene_embeddings", "scene_embedding_size is 128"),
        "raise": ("timestamp_embeddings[1.07s]", "deliberate failure"),
    }
    for fault, (name, words) in expectations.items():
        report = run_conformance("hear_example_model", options={"fault": fault}, device="cpu")
        assert _status(report)[name] == FAIL, (fault, report.render_text())
        assert words in _detail(report, name), fault


def test_unknown_device_is_a_usage_error() -> None:
    with pytest.raises(ValueError, match="--device"):
        run_conformance("hear_example_model", device="tpu")
