"""From a name or an object to its `PreprocessSpec`: `get_spec`, `resolve_spec`, `list_models`.

Look-up is pure, case-insensitive, memoized, and imports no framework.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any, NamedTuple

from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.errors import DeprocessError, advise, listing, on_cli, shown
from keras_deprocess.registry.handles import spec_from_object
from keras_deprocess.registry.tables import CONSTRUCTORS, MODES, MODULES, PRESETS

__all__ = ["ModelEntry", "get_spec", "list_models", "resolve_spec"]


class ModelEntry(NamedTuple):
    """One row of the registry table.

    Attributes:
        name: The name as Keras spells it ("VGG16", "resnet_v2", "caffe").
        kind: "constructor", "module", "mode" or "preset".
        module: The `keras.applications` module ("" for modes and presets).
        mode: The Keras mode with the same map; a preset with none
            ('clip') gives its own name.
        spec: The `PreprocessSpec` itself.

    Example:
        >>> from keras_deprocess import list_models
        >>> entry = next(e for e in list_models() if e.name == "ResNet50")
        >>> entry.kind, entry.module, entry.mode
        ('constructor', 'resnet', 'caffe')
    """

    name: str
    kind: str
    module: str
    mode: str
    spec: PreprocessSpec


# Memoized in plain dicts, not functools caches: torch.compile traces through
# look-ups and warns about every functools cache it meets.
_MEMO: dict[str, Any] = {}
_SPEC_BY_NAME: dict[str, PreprocessSpec] = {}
_SPEC_BY_NAME_LIMIT = 1024


def _clear_memo() -> None:
    """Forget the memoized tables (for tests that change the tables)."""
    _MEMO.clear()
    _SPEC_BY_NAME.clear()


def _table() -> tuple[ModelEntry, ...]:
    if "table" not in _MEMO:
        _MEMO["table"] = _build_table()
    table: tuple[ModelEntry, ...] = _MEMO["table"]
    return table


def _build_table() -> tuple[ModelEntry, ...]:
    rows = [
        ModelEntry(n, "constructor", m, MODULES[m], MODES[MODULES[m]]) for n, (m, _) in CONSTRUCTORS.items()
    ]
    rows += [ModelEntry(m, "module", m, mode, MODES[mode]) for m, mode in MODULES.items()]
    rows += [ModelEntry(mode, "mode", "", mode, spec) for mode, spec in MODES.items()]
    rows += [ModelEntry(name, "preset", "", _same_mode(spec) or name, spec) for name, spec in PRESETS.items()]
    return tuple(rows)


def _same_mode(spec: PreprocessSpec) -> str | None:
    return next((mode for mode, known in MODES.items() if known.same_as(spec)), None)


def _names() -> dict[str, ModelEntry]:
    if "names" not in _MEMO:
        _MEMO["names"] = _build_names()
    names: dict[str, ModelEntry] = _MEMO["names"]
    return names


def _build_names() -> dict[str, ModelEntry]:
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
        raise DeprocessError(f"Expected `kind` to be one of {kinds} or None. Received: kind={shown(kind)}.")
    return [e for e in _table() if kind is None or e.kind == kind]


def _spec_for_name(name: str) -> PreprocessSpec:
    spec = _SPEC_BY_NAME.get(name)
    if spec is None:
        spec = _look_up_name(name)
        if len(_SPEC_BY_NAME) < _SPEC_BY_NAME_LIMIT:
            _SPEC_BY_NAME[name] = spec
    return spec


def _look_up_name(name: str) -> PreprocessSpec:
    key = name.strip().lower()
    entry = _names().get(key)
    if entry is not None:
        return entry.spec
    for module, pattern in CONSTRUCTORS.values():
        if re.fullmatch(pattern, key):
            return MODES[MODULES[module]]
    known = _names()
    close = difflib.get_close_matches(key, list(known), n=3, cutoff=0.6) if len(key) <= 64 else []
    spelled = [known[c].name if known[c].name.lower() == c else c for c in close]
    hint = f"Did you mean {', '.join(map(repr, spelled))}? " if spelled else ""
    other = "" if on_cli() else "; a PreprocessSpec describes any other preprocessing"
    raise DeprocessError(
        f"Unknown model or mode {shown(name)}. {hint}Expected a keras.applications constructor "
        "('VGG16'), module ('resnet_v2'), mode ('caffe', 'tf', 'torch', 'identity') or preset "
        f"('imagenet', 'clip', 'half', 'unit', 'inception', 'lab', 'colorization', 'colorization-caffe'). "
        f"{listing()} lists them all{other}."
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
            f"{shown(obj.name)}: that is not a name Keras gives one. Pass the constructor's name "
            "(model='ResNet50') or a mode (mode='caffe'); for preprocessing layers inside the "
            "model, spec_from_model(model)."
        ) from None


def get_spec(model_or_mode: Any) -> PreprocessSpec:
    """The preprocessing spec of a model, module, function, mode, preset or pipeline.

    Args:
        model_or_mode: Any of
            - a constructor, module, built-model, mode or preset name,
              case-insensitive: "VGG16", "resnet_v2", "efficientnetv2-b0",
              "caffe", "clip";
            - a `keras.applications` module, its `preprocess_input` function
              (also `functools.partial(imagenet_utils.preprocess_input, mode=...)`),
              or a constructor such as `keras.applications.VGG16`;
            - a `keras.Model` built by a `keras.applications` constructor,
              recognised by the name Keras gave it;
            - a torchvision ``Normalize`` or ``Compose`` (v1 or
              ``transforms.v2``; CLIP and open_clip preprocess pipelines too):
              geometric steps are skipped, colour steps that cannot be undone
              are refused;
            - a timm data config (``resolve_data_config``), a timm model's
              ``pretrained_cfg``, or the model;
            - a Hugging Face image processor, or its config dict;
            - a detectron2 config (``MODEL.PIXEL_MEAN``/``PIXEL_STD``,
              ``INPUT.FORMAT``), LazyConfig, or model;
            - a `PreprocessSpec`, returned as is, or its `to_config()` dict.

            No library is imported to recognise its objects.

    Returns:
        The `PreprocessSpec`.

    Raises:
        DeprocessError: For an unknown name (with the closest matches) or an
            object it cannot place.

    Example:
        >>> from keras_deprocess import get_spec
        >>> get_spec("ResNet50").name
        'caffe'
        >>> get_spec({"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5), "crop_pct": 0.9}).scale
        0.00392156862745098
    """
    if isinstance(model_or_mode, PreprocessSpec):
        return model_or_mode
    if isinstance(model_or_mode, str):
        return _spec_for_name(model_or_mode)
    if isinstance(model_or_mode, Mapping) and _looks_like_spec_config(model_or_mode):
        return PreprocessSpec.from_config(model_or_mode)
    spec = spec_from_object(model_or_mode)
    if spec is not None:
        return spec
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
        "Expected a model or mode name, a PreprocessSpec, a keras.applications module, function, "
        "constructor or built model, or a torchvision, timm, Hugging Face or detectron2 "
        f"preprocessing object. Received an object of type {type(model_or_mode).__qualname__}: "
        f"{shown(model_or_mode)}. Pass the model's name instead, e.g. {advise(model='VGG16')}."
    )


_SPEC_FIELDS = frozenset(PreprocessSpec.__dataclass_fields__)


def _looks_like_spec_config(config: Mapping[Any, Any]) -> bool:
    """`PreprocessSpec.to_config()`'s keys (and only those), or one with a scale: other dicts are handles."""
    return "scale" in config or (bool(config) and set(config) <= _SPEC_FIELDS)


def resolve_spec(model: Any, mode: str | None) -> PreprocessSpec:
    """Exactly one of `model` and `mode`, resolved to a spec."""
    if (model is None) == (mode is None):
        received = "both" if model is not None else "neither"
        raise DeprocessError(
            f"Expected exactly one of `model` and `mode`. Received {received}: "
            f"model={shown(model, 60)}, mode={shown(mode)}. Pass {advise(model='VGG16')} (any "
            f"keras.applications name) or {advise(mode='caffe')} ('caffe', 'tf', 'torch' or 'identity')."
        )
    if model is not None:
        return get_spec(model)
    if not isinstance(mode, str) or mode.lower() not in MODES:
        hint = ""
        if isinstance(mode, str):
            try:
                _spec_for_name(mode)
                hint = f" {mode!r} is a model name: pass {advise(model=mode)}."
            except DeprocessError:
                pass
        raise DeprocessError(
            f"Expected `mode` to be one of {tuple(MODES)}. Received: mode={shown(mode)}.{hint}"
        )
    return MODES[mode.lower()]
