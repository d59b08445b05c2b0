"""keras-deprocess: the exact inverse of every keras.applications `preprocess_input`.

Importing this package imports no deep-learning framework; a framework is
imported only when the caller's own array comes from it, and Keras only when
a layer is used.
"""

from typing import Any

from keras_deprocess._keras_hook import register_layers_when_keras_is_imported
from keras_deprocess.colorization import Gamut, ab_bins, decode_ab, encode_ab, merge_l_ab, out_of_gamut
from keras_deprocess.discovery.detect import ModeGuess, detect_mode
from keras_deprocess.discovery.infer import infer_spec
from keras_deprocess.discovery.model_spec import spec_from_model
from keras_deprocess.errors import DeprocessError
from keras_deprocess.images import image_grid, to_images, to_pil
from keras_deprocess.registry import ModelEntry, get_spec, list_models
from keras_deprocess.registry.handles import spec_from_hf
from keras_deprocess.restore import preprocess_input, restore_original_image_from_array
from keras_deprocess.spec import PreprocessSpec, spec_from_lab, spec_from_mean_std

__version__ = "0.2.0"

__all__ = [
    "Deprocess",
    "DeprocessError",
    "Gamut",
    "ModeGuess",
    "ModelEntry",
    "Preprocess",
    "PreprocessSpec",
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
