"""Which preprocessing every model uses: data, names, and other libraries' objects.

- `tables`: the modes, the model modules and constructors, and the presets, as data;
- `handles`: torchvision, timm, Hugging Face and detectron2 objects, read by duck typing;
- `names`: `get_spec`, `resolve_spec` and `list_models` over both.
"""

from keras_deprocess.registry.names import ModelEntry, get_spec, list_models, resolve_spec
from keras_deprocess.registry.tables import CONSTRUCTORS, MODES, MODULES, PRESETS

__all__ = [
    "CONSTRUCTORS",
    "MODES",
    "MODULES",
    "PRESETS",
    "ModelEntry",
    "get_spec",
    "list_models",
    "resolve_spec",
]
