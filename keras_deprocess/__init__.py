"""keras-deprocess: the exact image back from a preprocessed tensor.

Importing this package imports no deep-learning framework, and not even
NumPy: each public name loads its module on first use, and a framework is
imported only when the caller's own array comes from it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from keras_deprocess._keras_hook import register_layers_when_keras_is_imported
from keras_deprocess.errors import DeprocessError, SpecMismatchWarning

if TYPE_CHECKING:
    from keras_deprocess.auditing import AuditReport, audit
    from keras_deprocess.checks.detection import ModeGuess
    from keras_deprocess.colorization import Gamut, ab_bins, decode_ab, encode_ab, merge_l_ab, out_of_gamut
    from keras_deprocess.core.spec import PreprocessSpec, spec_from_lab, spec_from_mean_std
    from keras_deprocess.discovery.detect import detect_mode
    from keras_deprocess.discovery.infer import infer_spec
    from keras_deprocess.discovery.model_spec import spec_from_model
    from keras_deprocess.geometry import (
        Canvas,
        CenterCrop,
        Geometry,
        Letterbox,
        Pad,
        Resize,
        geometry_for,
        to_original,
        unpatchify,
    )
    from keras_deprocess.images import image_grid, to_images, to_pil
    from keras_deprocess.layers import Deprocess, Preprocess
    from keras_deprocess.logging.callback import LogInputs
    from keras_deprocess.logging.writer import log_inputs
    from keras_deprocess.overlays import overlay
    from keras_deprocess.registry import ModelEntry, get_spec, list_models
    from keras_deprocess.registry.handles import spec_from_hf
    from keras_deprocess.restore import preprocess_input, restore_original_image_from_array

__version__ = "0.2.0"

# Public name → the module that defines it, loaded on first access.
_LAZY = {
    "Deprocess": "keras_deprocess.layers",
    "Preprocess": "keras_deprocess.layers",
    "LogInputs": "keras_deprocess.logging.callback",
    "log_inputs": "keras_deprocess.logging.writer",
    "AuditReport": "keras_deprocess.auditing",
    "audit": "keras_deprocess.auditing",
    "overlay": "keras_deprocess.overlays",
    "Gamut": "keras_deprocess.colorization",
    "ab_bins": "keras_deprocess.colorization",
    "decode_ab": "keras_deprocess.colorization",
    "encode_ab": "keras_deprocess.colorization",
    "merge_l_ab": "keras_deprocess.colorization",
    "out_of_gamut": "keras_deprocess.colorization",
    "ModeGuess": "keras_deprocess.checks.detection",
    "detect_mode": "keras_deprocess.discovery.detect",
    "infer_spec": "keras_deprocess.discovery.infer",
    "spec_from_model": "keras_deprocess.discovery.model_spec",
    "Canvas": "keras_deprocess.geometry",
    "CenterCrop": "keras_deprocess.geometry",
    "Geometry": "keras_deprocess.geometry",
    "Letterbox": "keras_deprocess.geometry",
    "Pad": "keras_deprocess.geometry",
    "Resize": "keras_deprocess.geometry",
    "geometry_for": "keras_deprocess.geometry",
    "to_original": "keras_deprocess.geometry",
    "unpatchify": "keras_deprocess.geometry",
    "image_grid": "keras_deprocess.images",
    "to_images": "keras_deprocess.images",
    "to_pil": "keras_deprocess.images",
    "ModelEntry": "keras_deprocess.registry",
    "get_spec": "keras_deprocess.registry",
    "list_models": "keras_deprocess.registry",
    "spec_from_hf": "keras_deprocess.registry.handles",
    "preprocess_input": "keras_deprocess.restore",
    "restore_original_image_from_array": "keras_deprocess.restore",
    "PreprocessSpec": "keras_deprocess.core.spec",
    "spec_from_lab": "keras_deprocess.core.spec",
    "spec_from_mean_std": "keras_deprocess.core.spec",
}

__all__ = [
    "AuditReport",
    "Canvas",
    "CenterCrop",
    "Deprocess",
    "DeprocessError",
    "Gamut",
    "Geometry",
    "Letterbox",
    "LogInputs",
    "ModeGuess",
    "ModelEntry",
    "Pad",
    "Preprocess",
    "PreprocessSpec",
    "Resize",
    "SpecMismatchWarning",
    "__version__",
    "ab_bins",
    "audit",
    "decode_ab",
    "detect_mode",
    "encode_ab",
    "geometry_for",
    "get_spec",
    "image_grid",
    "infer_spec",
    "list_models",
    "log_inputs",
    "merge_l_ab",
    "out_of_gamut",
    "overlay",
    "preprocess_input",
    "restore_original_image_from_array",
    "spec_from_hf",
    "spec_from_lab",
    "spec_from_mean_std",
    "spec_from_model",
    "to_images",
    "to_original",
    "to_pil",
    "unpatchify",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'keras_deprocess' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


register_layers_when_keras_is_imported()
