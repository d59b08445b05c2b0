"""Keras's global settings, read without importing Keras.

When Keras is already imported its live settings win (the user may have
called `keras.config.set_image_data_format`). Otherwise we apply the rules
Keras applies at import time: `$KERAS_HOME/keras.json`, else
`~/.keras/keras.json` (or `/tmp/.keras` when the home folder is read-only),
else the documented defaults.
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from types import ModuleType
from typing import Any, cast

from keras_deprocess.errors import DeprocessError

DATA_FORMATS = ("channels_last", "channels_first")


def _keras_dir() -> str:
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


@lru_cache(maxsize=1)
def _keras_json() -> dict[str, Any]:
    path = os.path.expanduser(os.path.join(_keras_dir(), "keras.json"))
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _loaded_keras3() -> ModuleType | None:
    keras = sys.modules.get("keras")
    config = getattr(keras, "config", None)
    if config is None or not hasattr(config, "image_data_format"):
        return None
    return cast(ModuleType, keras)


def image_data_format() -> str:
    """What `keras.config.image_data_format()` returns, without importing Keras."""
    keras = _loaded_keras3()
    if keras is not None:
        return str(keras.config.image_data_format())
    value = _keras_json().get("image_data_format", "channels_last")
    return value if value in DATA_FORMATS else "channels_last"


def floatx() -> str:
    """What `keras.config.floatx()` returns, without importing Keras."""
    keras = _loaded_keras3()
    if keras is not None:
        return str(keras.config.floatx())
    value = _keras_json().get("floatx", "float32")
    return value if value in ("float16", "float32", "float64") else "float32"


def resolve_data_format(data_format: str | None) -> str:
    if data_format is None:
        return image_data_format()
    if data_format not in DATA_FORMATS:
        raise DeprocessError(
            "Expected `data_format` to be one of 'channels_last', 'channels_first' or None "
            f"(None reads keras.config.image_data_format()). Received: data_format={data_format!r}."
        )
    return data_format


def import_keras(needed_for: str = "This") -> ModuleType:
    """Import Keras on demand and insist on Keras 3.

    `needed_for` names what needs it in the message ("The Deprocess layer").
    """
    try:
        import keras
    except ImportError as error:
        raise DeprocessError(
            f"Expected Keras 3: {needed_for} needs it. Received an environment without Keras "
            "(keras-deprocess installs no framework of its own). Install the `keras` extra, Keras with "
            "TensorFlow: pip install 'keras-deprocess[keras]'."
        ) from error
    version = getattr(keras, "__version__", "0")
    if int(version.split(".")[0]) < 3:
        raise DeprocessError(
            f"keras-deprocess needs Keras 3. Found Keras {version} at {keras.__file__}. "
            "Upgrade with `pip install -U 'keras>=3'` (TensorFlow 2.16+ uses Keras 3)."
        )
    return cast(ModuleType, keras)
