"""The spatial steps that other libraries' objects describe, read by duck typing.

None of these libraries is imported: an object is recognised by its class
name and attributes, a config by its keys (as `keras_deprocess.registry`
reads their value maps). Each reader turns the object into the library's
own steps (`keras_deprocess.geometry.steps`) with the integer convention of
the library that wrote it; a random step, or one whose geometry cannot be
known from the object, is refused by name.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.discovery.model_spec import (
    _END_OF_CHAIN,
    _leading_layers,
    _task_image_converter,
    spec_from_model,
)
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.geometry.map import Geometry, original_size_of
from keras_deprocess.geometry.steps import CenterCrop, Letterbox, Pad, Resize, Step, TrimBorder
from keras_deprocess.registry import get_spec
from keras_deprocess.registry.handles import (
    _conversion_factor,
    _field,
    _flat_steps,
    _is_normalize,
    _is_transform_pipeline,
    _step_name,
    _timm_config,
    _torchvision_preset,
    looks_like_hf,
)

__all__ = ["geometry_for", "resolve_geometry", "steps_for", "steps_from_text", "value_model"]

# Steps that change values or containers but never move a pixel.
_VALUE_ONLY = (
    "ToTensor",
    "MaybeToTensor",
    "PILToTensor",
    "MaybePILToTensor",
    "ToImage",
    "ToImageTensor",
    "ToPureTensor",
    "ToTensorV2",
    "ToNumpy",
    "ConvertImageDtype",
    "ConvertDtype",
    "ToDtype",
    "MaybeConvertMode",
    "Normalize",
    "Grayscale",
    "ColorJitter",
    "GaussianBlur",
    "Solarize",
    "Posterize",
    "Equalize",
    "Autocontrast",
    "AdjustSharpness",
    "Invert",
)


def geometry_for(model: Any, original_size: Any) -> Geometry:
    """The geometry of a preprocessing pipeline for pictures of `original_size`.

    Reads the spatial steps of

    - torchvision: ``weights.transforms()`` (``ImageClassification``:
      ``resize_size``, ``crop_size``), and ``Compose`` / ``transforms.v2``
      pipelines of ``Resize``, ``CenterCrop`` and ``Pad`` (value steps such
      as ``ToTensor`` and ``Normalize`` are skipped); open_clip's and timm's
      ``ResizeKeepRatio`` and ``CenterCropOrPad`` in them too;
    - timm data configs (``resolve_data_config``), a model's
      ``pretrained_cfg``, or the model: ``input_size``, ``crop_pct`` and
      ``crop_mode`` ('center', 'squash', 'border'), as
      ``transforms_imagenet_eval`` builds them;
    - Hugging Face image processors or their config dicts: ``size`` as
      ``shortest_edge`` or ``height``/``width``, ``do_center_crop`` /
      ``crop_size`` (slow and fast processors' offsets), ``do_pad`` /
      ``pad_size``, ConvNeXT's ``crop_pct``;
    - a Keras model's leading ``Resizing`` (with ``crop_to_aspect_ratio``,
      ``pad_to_aspect_ratio``) and ``CenterCrop`` layers, and keras_hub's
      ``ImageConverter`` (alone, or a task's ``preprocessor``);
    - the library's steps, one or a list: ``[Resize(256), CenterCrop(224)]``;
    - a `Geometry` (returned when it is for `original_size`).

    Each step keeps its library's integer rules (see `Resize`,
    `CenterCrop`, `Pad`, `Letterbox`). Random steps (``RandomResizedCrop``,
    flips, ...) and opaque ones (``Lambda``) are refused by name: their
    geometry is not in the object.

    Args:
        model: The pipeline, processor, config, model or steps.
        original_size: (height, width) of the picture before preprocessing.

    Returns:
        The frozen `Geometry`.

    Raises:
        DeprocessError: For an object with no geometry (a model name), a
            random or opaque step, or settings whose sizes cannot be known.

    Example:
        >>> from keras_deprocess import geometry_for
        >>> timm_config = {"input_size": (3, 224, 224), "crop_pct": 0.875, "crop_mode": "center",
        ...                "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
        >>> g = geometry_for(timm_config, (300, 420))
        >>> g.input_size, g.steps
        ((224, 224), (Resize(size=256), CenterCrop(size=(224, 224))))
    """
    size = original_size_of(original_size)
    if isinstance(model, Geometry):
        if model.original_size != size:
            raise DeprocessError(
                f"Expected a geometry for original_size={size}. Received a Geometry for "
                f"{model.original_size}. Build it for this picture: Geometry({size}, geometry.steps)."
            )
        return model
    return Geometry(size, steps_for(model))


def resolve_geometry(model: Any, geometry: Any, original_size: Any) -> Geometry:
    """`geometry` (a Geometry or steps) when given, else the geometry `model` carries."""
    if geometry is not None:
        if original_size is None and isinstance(geometry, Geometry):
            return geometry
        if original_size is None:
            raise DeprocessError(
                "Expected `original_size` (height, width) with `geometry` steps. Received none. Pass "
                "original_size=(H, W), or a Geometry, which knows it."
            )
        return geometry_for(geometry, original_size)
    if original_size is None:
        raise DeprocessError(
            "Expected `original_size`, the (height, width) of the picture before preprocessing. "
            "Received none. Pass original_size=(H, W)."
        )
    return geometry_for(model, original_size)


def steps_for(model: Any) -> tuple[Step, ...]:
    """The library's steps for `model`; see `geometry_for`."""
    if isinstance(model, Step):
        return (model,)
    if isinstance(model, (list, tuple)) and not isinstance(model, str):
        return tuple(step for item in model for step in steps_for(item))
    if isinstance(model, Geometry):
        return model.steps
    if model is None:
        raise DeprocessError(
            "Expected a pipeline, processor, config or model that resizes and crops, or the steps "
            "themselves. Received model=None. Pass geometry=[Resize(256), CenterCrop(224)] (the steps "
            "your pipeline ran) or a handle such as weights.transforms()."
        )
    if _torchvision_preset(model) is not None:
        return _torchvision_preset_steps(model)
    if _is_transform_pipeline(model) or _transform_name(model) is not None:
        return _transform_steps(model)
    config = _timm_config(model)
    if config is not None:
        return _timm_steps(config)
    if looks_like_hf(model):
        return _hf_steps(_field(model, "image_processor") or model)
    if _is_image_converter(model):
        return _image_converter_steps(model)
    keras_model = _keras_model(model)
    if keras_model is not None:
        return _keras_model_steps(keras_model)
    if isinstance(model, str):
        raise DeprocessError(
            f"Expected a handle that carries the spatial steps. Received the name {model!r}, which names "
            "a value preprocessing only. Pass the steps your pipeline ran: "
            "geometry=[Resize(256), CenterCrop(224)] (or Letterbox(640), ...), or a Geometry."
        )
    raise DeprocessError(
        "Expected a torchvision pipeline, a timm data config, a Hugging Face image processor, a Keras "
        "model with Resizing/CenterCrop layers, a keras_hub ImageConverter, or the library's steps. "
        f"Received an object of type {type(model).__qualname__}: {shown(model)}. Pass "
        "geometry=[Resize(...), CenterCrop(...)] with the steps it ran."
    )


_TEXT_STEPS: dict[str, Callable[[Any], Step]] = {
    "resize": lambda size: Resize(size),
    "crop": lambda size: CenterCrop(size),
    "pad": lambda size: Pad(size if isinstance(size, int) else (size[1], size[0])),
    "letterbox": lambda size: Letterbox(size),
}


def steps_from_text(text: str) -> tuple[Step, ...]:
    """Steps written as text, for the command line: ``resize=256,crop=224``, ``letterbox=640``.

    Each step is ``NAME=N`` or ``NAME=HxW``, in order, separated by commas:

    - ``resize=N``: the shorter side to N (torchvision's ``Resize(N)``);
      ``resize=HxW``: exactly H x W;
    - ``crop=N`` or ``crop=HxW``: torchvision's ``CenterCrop``;
    - ``pad=N``: N pixels on every side; ``pad=HxW``: H rows above and below,
      W columns left and right;
    - ``letterbox=N`` or ``letterbox=HxW``: ultralytics' ``LetterBox``.

    Example:
        >>> from keras_deprocess.geometry.handles import steps_from_text
        >>> steps_from_text("resize=256,crop=224")
        (Resize(size=256), CenterCrop(size=(224, 224)))
    """
    steps: list[Step] = []
    for part in str(text).split(","):
        name, _, value = part.strip().partition("=")
        make = _TEXT_STEPS.get(name.strip().lower())
        numbers = value.strip().lower().split("x")
        if make is None or not value or len(numbers) > 2 or not all(n.isdigit() for n in numbers):
            raise DeprocessError(
                f"Expected steps such as 'resize=256,crop=224' or 'letterbox=640': resize, crop, pad or "
                f"letterbox, each =N or =HxW, separated by commas. Received {shown(part.strip())} in "
                f"{shown(text)}. Write the steps your pipeline ran, in order."
            )
        size = int(numbers[0]) if len(numbers) == 1 else (int(numbers[0]), int(numbers[1]))
        try:
            steps.append(make(size))
        except DeprocessError:
            # The step's own message speaks of its Python keywords; the text has none.
            raise DeprocessError(
                "Expected sizes of at least 1 pixel (0 allowed for pad) in steps such as "
                "'resize=256,crop=224'. "
                f"Received {shown(part.strip())} in {shown(text)}. Write the sizes your pipeline used."
            ) from None
    return tuple(steps)


def value_model(model: Any) -> Any:
    """What `restore_original_image_from_array` takes for `model`'s value map.

    The objects that carry both a value map and a geometry are mostly read
    by the registry; a keras_hub ``ImageConverter`` and a Keras model with
    its own preprocessing layers are read here.
    """
    if _is_image_converter(model):
        scale = 1.0 if model.scale is None else model.scale
        offset = 0.0 if model.offset is None else model.offset
        return PreprocessSpec.from_affine(
            _per_channel(scale), _per_channel(offset), name=type(model).__name__, description="ImageConverter"
        )
    keras_model = _keras_model(model)
    if keras_model is not None and _task_image_converter(keras_model) is None:
        try:
            return get_spec(keras_model)
        except DeprocessError:
            return spec_from_model(keras_model)
    if keras_model is not None:
        return value_model(_task_image_converter(keras_model))
    return model


def _per_channel(value: Any) -> tuple[float, ...]:
    import numpy as np

    return tuple(float(v) for v in np.asarray(value, np.float64).reshape(-1))


# -- torchvision, open_clip, timm transforms -------------------------------------------


def _transform_name(step: Any) -> str | None:
    name = _step_name(step)
    known = (
        "Resize",
        "CenterCrop",
        "Pad",
        "ResizeKeepRatio",
        "CenterCropOrPad",
        "TrimBorder",
        "ResizeMaxSize",
    )
    return name if name in known and not isinstance(step, type) else None


def _torchvision_preset_steps(preset: Any) -> tuple[Step, ...]:
    name = type(preset).__name__
    if name == "ObjectDetection":
        return ()
    resize = _field(preset, "resize_size", _field(preset, "_size"))
    crop = _field(preset, "crop_size", _field(preset, "_crop_size"))
    steps: list[Step] = []
    if resize is not None:
        steps.append(Resize(_sequence_size(resize)))
    if crop is not None and name != "SemanticSegmentation":
        steps.append(CenterCrop(_sequence_size(crop)))
    return tuple(steps)


def _sequence_size(value: Any) -> Any:
    """torchvision's sizes: an int, a 1-sequence (shorter side / square), or (h, w)."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return int(value[0])
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return value


def _transform_steps(pipeline: Any) -> tuple[Step, ...]:
    label = type(pipeline).__name__
    steps: list[Step] = []
    for step in _flat_steps(pipeline):
        name = _step_name(step)
        if name == "Resize":
            steps.append(_torchvision_resize(step))
        elif name in ("CenterCrop", "CenterCropOrPad"):
            steps.append(CenterCrop(_sequence_size(step.size)))
        elif name == "Pad":
            steps.append(Pad(step.padding))
        elif name == "ResizeKeepRatio":
            steps.append(_keep_ratio(step, label))
        elif name == "TrimBorder":
            steps.append(TrimBorder(int(step.border_size)))
        elif _moves_no_pixel(step, name):
            continue
        else:
            raise _refused(name, label)
    return tuple(steps)


def _torchvision_resize(step: Any) -> Resize:
    size = _field(step, "size")
    max_size = _field(step, "max_size")
    if isinstance(size, (list, tuple)) and len(size) == 1:
        size = size[0]
    return Resize(tuple(size) if isinstance(size, (list, tuple)) else size, max_size=max_size)


def _keep_ratio(step: Any, label: str) -> Resize:
    random = (_field(step, "random_scale_prob", 0) or 0) > 0 or (
        _field(step, "random_aspect_prob", 0) or 0
    ) > 0
    if random or isinstance(_field(step, "interpolation"), (list, tuple)):
        raise DeprocessError(
            f"Cannot know the geometry of the ResizeKeepRatio step of the {label}: it resizes at random "
            "(random_scale_prob, random_aspect_prob or interpolation='random'). Expected the evaluation "
            "transforms. Pass geometry=[...] with the sizes it used."
        )
    return Resize(tuple(step.size), longest=float(_field(step, "longest", 0.0)))


def _moves_no_pixel(step: Any, name: str) -> bool:
    if _is_normalize(step) or _conversion_factor(step, name) is not None:
        return True
    return name in _VALUE_ONLY or "rgb" in name.lower()


def _refused(name: str, label: str) -> DeprocessError:
    random = name.startswith("Random") or name in ("FiveCrop", "TenCrop", "ScaleJitter", "ElasticTransform")
    if random:
        why = "it moves pixels at random (or into several outputs), so where they went is not in the pipeline"
    elif name == "Lambda" or name in ("function", "partial", "method"):
        why = "it runs code whose geometry cannot be read"
    else:
        why = "its geometry is not known (Resize, CenterCrop, Pad, ResizeKeepRatio, CenterCropOrPad are)"
    return DeprocessError(
        f"Cannot place the {name} step of the {label} on the original picture: {why}. Expected the "
        "evaluation transforms. Pass geometry=[Resize(...), CenterCrop(...), ...] with the steps it ran."
    )


# -- timm ------------------------------------------------------------------------------------


def _timm_steps(config: Mapping[str, Any]) -> tuple[Step, ...]:
    """``transforms_imagenet_eval`` (huggingface/pytorch-image-models ``timm/data/transforms_factory.py``)."""
    input_size = config.get("input_size")
    if not isinstance(input_size, (list, tuple)) or len(input_size) < 2:
        raise DeprocessError(
            "Expected `input_size` (C, H, W) in the timm data config. Received: "
            f"input_size={shown(input_size)}. "
            "Pass the config from timm.data.resolve_data_config(model=model)."
        )
    image_size = (int(input_size[-2]), int(input_size[-1]))
    crop_pct = config.get("crop_pct") or 0.875
    crop_mode = config.get("crop_mode") or "center"
    scale_size = (math.floor(image_size[0] / crop_pct), math.floor(image_size[1] / crop_pct))
    if crop_mode == "squash":
        return (Resize(scale_size), CenterCrop(image_size))
    if crop_mode == "border":
        return (Resize(scale_size, longest=1.0), CenterCrop(image_size))
    if scale_size[0] == scale_size[1]:
        return (Resize(scale_size[0]), CenterCrop(image_size))
    return (Resize(scale_size, longest=0.0), CenterCrop(image_size))


# -- Hugging Face ----------------------------------------------------------------------------


def _size_dict(value: Any, what: str, name: str) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        items = dict(value)
    elif isinstance(value, (int, list, tuple)):
        raise DeprocessError(
            f"Expected `{what}` of the Hugging Face processor {name} as a dict. Received "
            f"{what}={shown(value)}, "
            "which processors read differently (shortest edge or square). Pass the processor itself, or "
            f'{what}={{"shortest_edge": ...}} or {{"height": ..., "width": ...}}.'
        )
    else:  # transformers' SizeDict: attributes
        keys = ("height", "width", "shortest_edge", "longest_edge", "max_height", "max_width")
        items = {key: getattr(value, key, None) for key in keys}
    return {key: int(v) for key, v in items.items() if v is not None}


def _hf_steps(source: Any) -> tuple[Step, ...]:
    if isinstance(source, Mapping):
        name = str(source.get("image_processor_type") or "the image processor config")
    else:
        name = type(source).__name__
    if _field(source, "merge_size") is not None and _field(source, "temporal_patch_size") is not None:
        raise DeprocessError(
            f"Cannot read the geometry of {name}: it resizes to a pixel budget (Qwen2-VL's smart_resize, "
            "which changed across releases). Expected a fixed-size processor. Its output tells the size: "
            "pass geometry=[Resize((grid_h * patch_size, grid_w * patch_size))] from image_grid_thw."
        )
    steps: list[Step] = []
    convention = _hf_crop_convention(source, name)
    size = _size_dict(_field(source, "size"), "size", name)
    do_resize = _field(source, "do_resize")
    if do_resize and not size:
        raise DeprocessError(
            f"Expected `size` with do_resize=True on {name}. Received none, so the size it resized to is "
            "unknown. Pass the processor object itself, or geometry=[Resize(...)]."
        )
    if size and do_resize is not False:
        crop_pct = _field(source, "crop_pct")
        if set(size) == {"height", "width"}:
            steps.append(Resize((size["height"], size["width"])))
        elif set(size) == {"shortest_edge"} and crop_pct is not None and "convnext" in name.lower():
            shortest = size["shortest_edge"]
            if shortest < 384:  # ConvNeXT's resize crops inside (its crop_pct)
                steps += [Resize(int(shortest / crop_pct)), CenterCrop(shortest, convention=convention)]
            else:
                steps.append(Resize((shortest, shortest)))
        elif set(size) == {"shortest_edge"} and crop_pct is None:
            steps.append(Resize(size["shortest_edge"]))
        elif size:
            raise DeprocessError(
                f"Cannot read the geometry of {name}: size={shown(size)}"
                + (f" with crop_pct={crop_pct}" if crop_pct is not None else "")
                + " follows rules that differ across processors and releases. Expected size as "
                '{"shortest_edge": s} or {"height": h, "width": w}. Pass geometry=[Resize((h, w))] with '
                "the size the processor produced (the shape of pixel_values, before any padding)."
            )
    if _field(source, "do_center_crop", False):
        crop = _field(source, "crop_size")
        crop_size = (
            _size_dict(crop, "crop_size", name)
            if not isinstance(crop, int)
            else {"height": crop, "width": crop}
        )
        if set(crop_size) != {"height", "width"}:
            raise DeprocessError(
                f"Expected crop_size as {{'height', 'width'}} on {name} with do_center_crop=True. Received "
                f"crop_size={shown(crop)}."
            )
        steps.append(CenterCrop((crop_size["height"], crop_size["width"]), convention=convention))
    if _field(source, "do_pad", False):
        pad_size = _size_dict(_field(source, "pad_size"), "pad_size", name)
        if "llava" in name.lower() or set(pad_size) != {"height", "width"}:
            raise DeprocessError(
                f"Cannot read where {name} pads: do_pad=True with "
                f"pad_size={shown(_field(source, 'pad_size'))} "
                "pads to the batch's largest image (or to a square). Expected a fixed pad_size. Pass "
                "geometry=[..., Pad(size=(H, W))] with the padded size of the batch."
            )
        steps.append(Pad(size=(pad_size["height"], pad_size["width"])))
    return tuple(steps)


def _hf_crop_convention(source: Any, name: str) -> str:
    """Slow and PIL processors floor; fast ones rounded half to even until transformers 4.57 (#40856)."""
    bases = {cls.__name__ for cls in type(source).__mro__}
    fast = name.endswith("Fast") or bool(bases & {"BaseImageProcessorFast", "TorchvisionBackend"})
    if not fast:
        return "huggingface"
    version = str(getattr(sys.modules.get("transformers"), "__version__", "") or "")
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    if len(parts) == 2 and tuple(parts) < (4, 57):
        return "torchvision"
    return "huggingface-fast"


# -- Keras and keras_hub ---------------------------------------------------------------------


def _keras_model(obj: Any) -> Any:
    keras = sys.modules.get("keras")
    model_class = getattr(keras, "Model", None)
    return obj if model_class is not None and isinstance(obj, model_class) else None


def _is_image_converter(obj: Any) -> bool:
    return any(cls.__name__ == "ImageConverter" for cls in type(obj).__mro__) and hasattr(obj, "image_size")


def _tensorflow_backend() -> bool:
    keras = sys.modules.get("keras")
    backend = getattr(getattr(keras, "backend", None), "backend", None)
    return bool(backend is not None and backend() == "tensorflow")


def _image_converter_steps(converter: Any) -> tuple[Step, ...]:
    for cls in type(converter).__mro__:
        if cls.__name__ == "ImageConverter":
            break
        own = {"call", "_call_python", "_call_tf"} & set(vars(cls))
        if own:
            raise DeprocessError(
                f"Cannot read the geometry of {cls.__name__}: it resizes with its own rules "
                f"({sorted(own)[0]}), "
                "not keras_hub's ImageConverter's. Expected an ImageConverter that resizes with Resizing. "
                "Pass geometry=[Resize((h, w))] with the size it produced."
            )
    if converter.image_size is None:
        return ()
    return (_resizing_step(converter.resizing),)


def _resizing_step(layer: Any) -> Resize:
    return Resize(
        (int(layer.height), int(layer.width)),
        crop_to_aspect_ratio=bool(layer.crop_to_aspect_ratio),
        pad_to_aspect_ratio=bool(layer.pad_to_aspect_ratio),
        float32=_tensorflow_backend() and bool(layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio),
    )


def _keras_model_steps(model: Any) -> tuple[Step, ...]:
    converter = _task_image_converter(model)
    if converter is not None:
        return _image_converter_steps(converter)
    keras = sys.modules["keras"]
    steps: list[Step] = []
    for layer in _leading_layers(keras, model):
        if layer is _END_OF_CHAIN:
            break
        name = type(layer).__name__
        if isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization, keras.layers.Identity)):
            continue
        if isinstance(layer, keras.layers.Resizing):
            steps.append(_resizing_step(layer))
        elif isinstance(layer, keras.layers.CenterCrop):
            steps.append(CenterCrop((int(layer.height), int(layer.width)), convention="keras"))
        elif _is_image_converter(layer):
            steps += _image_converter_steps(layer)
        elif ".preprocessing" in type(layer).__module__ or isinstance(layer, keras.layers.Lambda):
            raise DeprocessError(
                f"Cannot place the leading layer {layer.name!r} ({name}) of {model.name!r} on the original "
                "picture: only Resizing and CenterCrop (and the value layers Rescaling, Normalization) are "
                f"read, and this one "
                f"{'moves pixels at random' if name.startswith('Random') else 'is opaque'}. "
                "Pass geometry=[Resize(...), ...] with the steps it ran."
            )
        else:
            break
    return tuple(steps)
