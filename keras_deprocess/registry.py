"""Which preprocessing each `keras.applications` model uses, as data.

Three tables: the modes (a spec each), the model modules (a mode each), and
the constructors (their module, and the name Keras gives the model they
build). Look-up is pure, case-insensitive and imports no framework.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from types import ModuleType
from typing import Any, NamedTuple

from keras_deprocess.errors import DeprocessError
from keras_deprocess.presets import PRESETS, looks_like_hf, spec_from_hf
from keras_deprocess.spec import CAFFE, IDENTITY, TF, TORCH, PreprocessSpec

__all__ = ["ModelEntry", "get_spec", "list_models"]

MODES: dict[str, PreprocessSpec] = {
    "caffe": CAFFE,
    "tf": TF,
    "torch": TORCH,
    "identity": IDENTITY,
}

# What each module's `preprocess_input` does. 'identity' marks the modules
# whose function returns its input: those networks rescale and normalize
# inside themselves.
MODULES: dict[str, str] = {
    "convnext": "identity",
    "densenet": "torch",
    "efficientnet": "identity",
    "efficientnet_v2": "identity",
    # imagenet_utils.preprocess_input takes a `mode`; this is its default.
    "imagenet_utils": "caffe",
    "inception_resnet_v2": "tf",
    "inception_v3": "tf",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "mobilenet_v3": "identity",
    "nasnet": "tf",
    "resnet": "caffe",
    "resnet50": "caffe",
    "resnet_v2": "tf",
    "vgg16": "caffe",
    "vgg19": "caffe",
    "xception": "tf",
}

# Constructor → (the module that defines it, the regex of the name Keras
# gives the model it builds when no `name` is passed).
CONSTRUCTORS: dict[str, tuple[str, str]] = {
    "ConvNeXtBase": ("convnext", "convnext_base"),
    "ConvNeXtLarge": ("convnext", "convnext_large"),
    "ConvNeXtSmall": ("convnext", "convnext_small"),
    "ConvNeXtTiny": ("convnext", "convnext_tiny"),
    "ConvNeXtXLarge": ("convnext", "convnext_xlarge"),
    "DenseNet121": ("densenet", "densenet121"),
    "DenseNet169": ("densenet", "densenet169"),
    "DenseNet201": ("densenet", "densenet201"),
    **{f"EfficientNetB{i}": ("efficientnet", f"efficientnetb{i}") for i in range(8)},
    **{f"EfficientNetV2B{i}": ("efficientnet_v2", f"efficientnetv2-b{i}") for i in range(4)},
    **{f"EfficientNetV2{s}": ("efficientnet_v2", f"efficientnetv2-{s.lower()}") for s in "SML"},
    "InceptionResNetV2": ("inception_resnet_v2", "inception_resnet_v2"),
    "InceptionV3": ("inception_v3", "inception_v3"),
    "MobileNet": ("mobilenet", r"mobilenet_\d+\.\d+_\d+"),
    "MobileNetV2": ("mobilenet_v2", r"mobilenetv2_\d+\.\d+_\d+"),
    "MobileNetV3Large": ("mobilenet_v3", "mobilenetv3large"),
    "MobileNetV3Small": ("mobilenet_v3", "mobilenetv3small"),
    "NASNetLarge": ("nasnet", "nasnet_large"),
    "NASNetMobile": ("nasnet", "nasnet_mobile"),
    "ResNet101": ("resnet", "resnet101"),
    "ResNet152": ("resnet", "resnet152"),
    "ResNet50": ("resnet", "resnet50"),
    "ResNet101V2": ("resnet_v2", "resnet101v2"),
    "ResNet152V2": ("resnet_v2", "resnet152v2"),
    "ResNet50V2": ("resnet_v2", "resnet50v2"),
    "VGG16": ("vgg16", "vgg16"),
    "VGG19": ("vgg19", "vgg19"),
    "Xception": ("xception", "xception"),
}


class ModelEntry(NamedTuple):
    """One row of the registry table.

    Attributes:
        name: The name as Keras spells it ("VGG16", "resnet_v2", "caffe").
        kind: "constructor", "module", "mode" or "preset".
        module: The `keras.applications` module ("" for modes and presets).
        mode: The Keras mode with the same map; a preset with none
            ('clip') gives its own name.
        spec: The `PreprocessSpec` itself.
    """

    name: str
    kind: str
    module: str
    mode: str
    spec: PreprocessSpec


@functools.cache
def _table() -> tuple[ModelEntry, ...]:
    rows = [
        ModelEntry(n, "constructor", m, MODULES[m], MODES[MODULES[m]]) for n, (m, _) in CONSTRUCTORS.items()
    ]
    rows += [ModelEntry(m, "module", m, mode, MODES[mode]) for m, mode in MODULES.items()]
    rows += [ModelEntry(mode, "mode", "", mode, spec) for mode, spec in MODES.items()]
    rows += [ModelEntry(name, "preset", "", _same_mode(spec) or name, spec) for name, spec in PRESETS.items()]
    return tuple(rows)


def _same_mode(spec: PreprocessSpec) -> str | None:
    return next((mode for mode, known in MODES.items() if known.same_as(spec)), None)


@functools.cache
def _names() -> dict[str, ModelEntry]:
    names: dict[str, ModelEntry] = {}
    for entry in _table():
        names.setdefault(entry.name.lower(), entry)
    # The names Keras gives built models ("efficientnetv2-b0") are accepted too.
    for constructor, (_, pattern) in CONSTRUCTORS.items():
        if "\\" not in pattern:
            names.setdefault(pattern, names[constructor.lower()])
    return names


def list_models(kind: str | None = None) -> list[ModelEntry]:
    """The registry table: every constructor, module and mode, with its spec.

    Args:
        kind: Keep only "constructor", "module", "mode" or "preset" rows.
            None keeps all.

    Returns:
        A list of `ModelEntry` rows, constructors first.

    Example:
        >>> from keras_deprocess import list_models
        >>> [(e.name, e.mode) for e in list_models("constructor")][:2]
        [('ConvNeXtBase', 'identity'), ('ConvNeXtLarge', 'identity')]
    """
    kinds = ("constructor", "module", "mode", "preset")
    if kind is not None and kind not in kinds:
        raise DeprocessError(f"Expected `kind` to be one of {kinds} or None. Received: kind={kind!r}.")
    return [e for e in _table() if kind is None or e.kind == kind]


@functools.lru_cache(maxsize=256)
def _spec_for_name(name: str) -> PreprocessSpec:
    key = name.strip().lower()
    entry = _names().get(key)
    if entry is not None:
        return entry.spec
    for module, pattern in CONSTRUCTORS.values():
        if re.fullmatch(pattern, key):
            return MODES[MODULES[module]]
    known = _names()
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6)
    spelled = [known[c].name if known[c].name.lower() == c else c for c in close]
    hint = f"Did you mean {', '.join(map(repr, spelled))}? " if spelled else ""
    raise DeprocessError(
        f"Unknown model or mode {name!r}. {hint}Expected a keras.applications constructor "
        "('VGG16'), module ('resnet_v2'), mode ('caffe', 'tf', 'torch', 'identity') or preset "
        "('imagenet', 'clip', 'half', 'inception'). "
        f"keras_deprocess.list_models() lists them all; a PreprocessSpec "
        "describes any other preprocessing."
    )


def _module_spec(module_path: str) -> PreprocessSpec | None:
    parts = module_path.split(".")
    if "applications" in parts and parts[-1] in MODULES:
        return MODES[MODULES[parts[-1]]]
    return None


def _keras_model_spec(obj: Any) -> PreprocessSpec | None:
    keras = sys.modules.get("keras")
    model_class = getattr(keras, "Model", None)
    if model_class is None or not isinstance(obj, model_class):
        return None
    try:
        return _spec_for_name(obj.name)
    except DeprocessError:
        raise DeprocessError(
            f"Cannot tell which keras.applications model built the keras.Model named "
            f"{obj.name!r}: that is not a name Keras gives one. Pass the constructor's name "
            "(model='ResNet50') or a mode (mode='caffe')."
        ) from None


def get_spec(model_or_mode: Any) -> PreprocessSpec:
    """The preprocessing spec of a model, module, function or mode.

    Args:
        model_or_mode: Any of
            - a constructor, module, built-model, mode or preset name,
              case-insensitive: "VGG16", "resnet_v2", "efficientnetv2-b0",
              "caffe", "clip";
            - a Hugging Face image processor, or its config dict;
            - a `keras.applications` module, its `preprocess_input` function
              (also `functools.partial(imagenet_utils.preprocess_input, mode=...)`),
              or a constructor such as `keras.applications.VGG16`;
            - a `keras.Model` built by a `keras.applications` constructor,
              recognised by the name Keras gave it;
            - a `PreprocessSpec`, returned as is, or its `to_config()` dict.

    Returns:
        The `PreprocessSpec`.

    Raises:
        DeprocessError: For an unknown name (with the closest matches) or an
            object it cannot place.

    Example:
        >>> from keras_deprocess import get_spec
        >>> get_spec("ResNet50").name
        'caffe'
    """
    if isinstance(model_or_mode, PreprocessSpec):
        return model_or_mode
    if isinstance(model_or_mode, str):
        return _spec_for_name(model_or_mode)
    if isinstance(model_or_mode, dict) and "scale" in model_or_mode:
        return PreprocessSpec.from_config(model_or_mode)
    if looks_like_hf(model_or_mode):
        return spec_from_hf(model_or_mode)
    if isinstance(model_or_mode, ModuleType):
        spec = _module_spec(model_or_mode.__name__)
        if spec is not None:
            return spec
    elif isinstance(model_or_mode, functools.partial):
        keywords = model_or_mode.keywords
        if (
            _module_spec(getattr(model_or_mode.func, "__module__", "") or "") is not None
            and "mode" in keywords
        ):
            return _spec_for_name(keywords["mode"])
        return get_spec(model_or_mode.func)
    elif callable(model_or_mode):
        spec = _keras_model_spec(model_or_mode)
        if spec is not None:
            return spec
        name = getattr(model_or_mode, "__name__", "")
        module = getattr(model_or_mode, "__module__", "") or ""
        if name == "preprocess_input":
            spec = _module_spec(module)
            if spec is not None:
                return spec
        if name in CONSTRUCTORS and "applications" in module.split("."):
            return _spec_for_name(name)
    raise DeprocessError(
        "Expected a model or mode name, a PreprocessSpec, or a keras.applications module, "
        "preprocess_input function, constructor or built model. "
        f"Received an object of type {type(model_or_mode).__qualname__}: {model_or_mode!r:.80}. "
        "Pass the model's name instead, e.g. model='VGG16'."
    )


def resolve_spec(model: Any, mode: str | None) -> PreprocessSpec:
    """Exactly one of `model` and `mode`, resolved to a spec."""
    if (model is None) == (mode is None):
        received = "both" if model is not None else "neither"
        raise DeprocessError(
            f"Expected exactly one of `model` and `mode`. Received {received}: "
            f"model={model!r:.60}, mode={mode!r}. Pass model='VGG16' (any keras.applications "
            "name) or mode='caffe' ('caffe', 'tf', 'torch' or 'identity')."
        )
    if model is not None:
        return get_spec(model)
    if not isinstance(mode, str) or mode.lower() not in MODES:
        hint = ""
        if isinstance(mode, str):
            try:
                _spec_for_name(mode)
                hint = f" {mode!r} is a model name: pass model={mode!r}."
            except DeprocessError:
                pass
        raise DeprocessError(f"Expected `mode` to be one of {tuple(MODES)}. Received: mode={mode!r}.{hint}")
    return MODES[mode.lower()]
