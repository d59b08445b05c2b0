"""Importing keras_deprocess and restoring a NumPy array load no framework."""

from __future__ import annotations

import json
from typing import Any

from conftest import run_python

HEAVY = ("tensorflow", "keras", "jax", "torch")


def _run(code: str, env_updates: dict[str, str] | None = None) -> Any:
    """The JSON that `code` prints last, in a fresh interpreter."""
    return json.loads(run_python(code, **(env_updates or {})).strip().splitlines()[-1])


def test_import_loads_nothing_heavy_and_is_quick():
    loaded = _run(
        """
        import json, sys, time
        start = time.perf_counter()
        import keras_deprocess
        seconds = time.perf_counter() - start
        print(json.dumps([sorted(m for m in ("numpy", "PIL", *HEAVY) if m in sys.modules), seconds < 1.0]))
        """.replace("HEAVY", repr(HEAVY))
    )
    assert loaded == [[], True]


def test_import_and_numpy_restore_load_no_framework():
    loaded = _run(
        f"""
        import json, sys
        import numpy as np
        import keras_deprocess as kd
        x = kd.preprocess_input(np.zeros((2, 4, 4, 3), np.uint8), "VGG16")
        y = kd.restore_original_image_from_array(x, "VGG16")
        kd.get_spec("ResNet50"); kd.list_models(); kd.detect_mode(x, "channels_last")
        kd.infer_spec(lambda a: a / 127.5 - 1, data_format="channels_last")
        kd.overlay(x, np.ones((2, 2, 2)), "VGG16", data_format="channels_last")
        kd.audit([x, x], "VGG16", batches=2, data_format="channels_last").sheet()
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
        """
    )
    assert loaded == []


def test_public_surface():
    import keras_deprocess

    assert set(keras_deprocess.__all__) == {
        "AuditReport",
        "LogInputs",
        "audit",
        "log_inputs",
        "overlay",
        "Canvas",
        "CenterCrop",
        "Geometry",
        "Letterbox",
        "Pad",
        "Resize",
        "geometry_for",
        "to_original",
        "unpatchify",
        "Deprocess",
        "DeprocessError",
        "Gamut",
        "ModeGuess",
        "ModelEntry",
        "Preprocess",
        "PreprocessSpec",
        "SpecMismatchWarning",
        "__version__",
        "ab_bins",
        "decode_ab",
        "detect_mode",
        "encode_ab",
        "get_spec",
        "image_grid",
        "infer_spec",
        "list_models",
        "merge_l_ab",
        "out_of_gamut",
        "preprocess_input",
        "restore_original_image_from_array",
        "spec_from_hf",
        "spec_from_lab",
        "spec_from_mean_std",
        "spec_from_model",
        "to_images",
        "to_pil",
    }
    for name in keras_deprocess.__all__:
        assert hasattr(keras_deprocess, name)
    eager = {"DeprocessError", "SpecMismatchWarning", "__version__"}
    assert set(keras_deprocess.__all__) == set(keras_deprocess._LAZY) | eager


def test_data_format_default_is_read_from_keras_json_without_importing_keras(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first"}))
    result = _run(
        """
        import json, sys
        import numpy as np
        import keras_deprocess as kd
        from keras_deprocess.core.config import image_data_format
        y = kd.restore_original_image_from_array(np.zeros((3, 2, 2), np.float32), "VGG16")
        print(json.dumps([image_data_format(), list(y.shape), "keras" in sys.modules]))
        """,
        {"KERAS_HOME": str(tmp_path)},
    )
    assert result == ["channels_first", [3, 2, 2], False]


def test_data_format_default_follows_live_keras_setting():
    result = _run(
        """
        import json
        import keras
        keras.config.set_image_data_format("channels_first")
        from keras_deprocess.core.config import image_data_format
        print(json.dumps(image_data_format()))
        """,
        {"TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result == "channels_first"
