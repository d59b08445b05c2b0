"""keras-deprocess: the exact inverse of every keras.applications `preprocess_input`.

Importing this package imports no deep-learning framework; Keras is loaded
only when a tensor or a layer needs it.
"""

from keras_deprocess.errors import DeprocessError
from keras_deprocess.registry import ModelEntry, get_spec, list_models
from keras_deprocess.spec import PreprocessSpec
from keras_deprocess.transform import preprocess_input, restore_original_image_from_array

__version__ = "0.1.0"

__all__ = [
    "DeprocessError",
    "ModelEntry",
    "PreprocessSpec",
    "__version__",
    "get_spec",
    "list_models",
    "preprocess_input",
    "restore_original_image_from_array",
]
