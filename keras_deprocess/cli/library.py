"""The command line's one door into the library: every library name the CLI uses comes through here.

So the CLI's dependence on the library is one short list, and a name that
moves in the library changes one import line here and no command. Each name
is imported from the module that defines it, not from the package's lazy
`__init__`, so that mypy checks its use and the import cost is paid once,
when the CLI starts. None of these modules imports a framework:
`import_keras` does that, on call, for the demo only.
"""

from __future__ import annotations

from keras_deprocess import __version__
from keras_deprocess.auditing.pipeline import audit_batches
from keras_deprocess.checks.mismatch import MISMATCH_SAMPLE_PIXELS, spec_mismatch
from keras_deprocess.colorization import merge_l_ab, out_of_gamut
from keras_deprocess.core.config import import_keras, resolve_data_format
from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.datasets.arrays import DEFAULT_CHUNK_BYTES, ArrayEntry, ArraySource, Piece
from keras_deprocess.datasets.naming import (
    MANIFEST_NAME,
    NAMINGS,
    ArrayOutputs,
    existing_outputs,
    manifest_line,
    plan_outputs,
    safe_stem,
)
from keras_deprocess.datasets.npy import InputFileError
from keras_deprocess.datasets.sampling import sample
from keras_deprocess.datasets.sources import FORMATS, open_arrays
from keras_deprocess.discovery.auto import detected_spec
from keras_deprocess.discovery.detect import detect_mode
from keras_deprocess.engines import host_engine
from keras_deprocess.errors import DeprocessError, advise, shown, speaking_cli
from keras_deprocess.geometry import Geometry, place_on_original
from keras_deprocess.geometry.handles import steps_from_text
from keras_deprocess.images import GridLayout, demo_image, naive_view, to_rgb
from keras_deprocess.registry import MODES, PRESETS, get_spec, list_models
from keras_deprocess.restore import describe_mismatch, restore_original_image_from_array

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "FORMATS",
    "MANIFEST_NAME",
    "MISMATCH_SAMPLE_PIXELS",
    "MODES",
    "NAMINGS",
    "PRESETS",
    "ArrayEntry",
    "ArrayOutputs",
    "ArraySource",
    "DeprocessError",
    "Geometry",
    "GridLayout",
    "InputFileError",
    "Piece",
    "PreprocessSpec",
    "__version__",
    "advise",
    "audit_batches",
    "demo_image",
    "describe_mismatch",
    "detect_mode",
    "detected_spec",
    "existing_outputs",
    "get_spec",
    "host_engine",
    "import_keras",
    "list_models",
    "manifest_line",
    "merge_l_ab",
    "naive_view",
    "open_arrays",
    "out_of_gamut",
    "place_on_original",
    "plan_outputs",
    "resolve_data_format",
    "restore_original_image_from_array",
    "safe_stem",
    "sample",
    "shown",
    "speaking_cli",
    "spec_mismatch",
    "steps_from_text",
    "to_rgb",
]
