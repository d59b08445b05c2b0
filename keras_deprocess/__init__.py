"""keras-deprocess: the exact inverse of every keras.applications `preprocess_input`.

Importing this package imports no deep-learning framework; Keras is loaded
only when a tensor or a layer needs it.
"""

from typing import Any

from keras_deprocess._keras_hook import register_layers_when_keras_is_imported
from keras_deprocess.detect import ModeGuess, detect_mode
from keras_deprocess.errors import DeprocessError
from keras_deprocess.infer import infer_spec
from keras_deprocess.model_spec import spec_from_model
from keras_deprocess.presets import spec_from_hf, spec_from_mean_std
from keras_deprocess.registry import ModelEntry, get_spec, list_models
from keras_deprocess.spec import PreprocessSpec
from keras_deprocess.transform import preprocess_input, restore_original_image_from_array

__version__ = "0.1.0"

__all__ = [
    "Deprocess",
    "DeprocessError",
    "ModeGuess",
    "ModelEntry",
    "Preprocess",
    "PreprocessSpec",
    "__version__",
    "detect_mode",
    "get_spec",
    "infer_spec",
    "list_models",
    "preprocess_input",
    "restore_original_image_from_array",
    "spec_from_hf",
    "spec_from_mean_std",
    "spec_from_model",
]

_LAYERS = ("Deprocess", "Preprocess")


def __getattr__(name: str) -> Any:
    # The layers subclass keras.layers.Layer, so they load Keras: on demand.
    if name in _LAYERS:
        from keras_deprocess import layers

        return getattr(layers, name)
    raise AttributeError(f"module 'keras_deprocess' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAYERS))


register_layers_when_keras_is_imported()
