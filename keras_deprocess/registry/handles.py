"""Objects of other libraries that describe a preprocessing, read by duck typing.

None of these libraries is imported: an object is recognised by its class
name and attributes, a config by its keys.

- Hugging Face image processors (and their ``preprocessor_config.json``
  dicts): ``rescale_factor``, ``image_mean``, ``image_std``,
  ``do_flip_channel_order``, ...
- torchvision transforms, v1 and ``transforms.v2`` (also albumentations'
  and kornia's ``Normalize``, and CLIP / open_clip preprocess pipelines):
  ``Normalize`` and ``Compose``; and the presets of torchvision's weights
  (``weights.transforms()``: ``ImageClassification`` and its siblings).
- timm data configs (``resolve_data_config`` dicts), a timm model's
  ``pretrained_cfg``, or the model itself.
- detectron2 configs (``MODEL.PIXEL_MEAN``, ``MODEL.PIXEL_STD``,
  ``INPUT.FORMAT``; LazyConfig's ``model.pixel_mean``), or the model itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from keras_deprocess.core.spec import PreprocessSpec
from keras_deprocess.errors import DeprocessError, shown

__all__ = ["looks_like_hf", "spec_from_hf", "spec_from_object"]


def _field(source: Any, key: str, default: Any = None) -> Any:
    if isinstance(source, Mapping):
        return source.get(key, default)
    return getattr(source, key, default)


def _number(value: Any, what: str, where: str) -> float:
    try:
        number = float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, (bool, str)) or not math.isfinite(number):
        raise DeprocessError(
            f"Expected `{what}` to be a finite number in {where}. Received: {what}={shown(value)}. "
            f"Fix the config, or build the spec with spec_from_mean_std(mean, std, scale=...)."
        )
    return number


# -- Hugging Face ------------------------------------------------------------------

_HF_FIELDS = (
    "image_mean",
    "image_std",
    "rescale_factor",
    "do_rescale",
    "do_normalize",
    "do_flip_channel_order",
    "image_processor",
)


def looks_like_hf(obj: Any) -> bool:
    """An image processor, a wrapper of one, or a config dict of one."""
    return any(_field(obj, key) is not None for key in _HF_FIELDS)


def spec_from_hf(processor_or_config: Any, *, name: str | None = None) -> PreprocessSpec:
    r"""A spec from a Hugging Face image processor, or its config dict.

    .. math::

        y_c = \frac{x_{\mathrm{order}[c]} \cdot \mathrm{rescale\_factor} - \mathrm{mean}_c}{\mathrm{std}_c}

    Reads ``do_rescale`` (default True), ``rescale_factor`` (default 1/255,
    any value taken), ``rescale_offset`` (EfficientNet's: subtract 1 after
    rescaling), ``do_normalize`` (default True), ``image_mean`` and
    ``image_std``, and ``do_flip_channel_order`` (MobileViT's RGB → BGR, so
    the spec's channel order is 'BGR'). ``do_convert_rgb`` only makes the
    input RGB and changes no value. A processor that wraps an image processor
    (``AutoProcessor``'s ``.image_processor``) is unwrapped. transformers is
    never imported. Resizing and cropping move pixels without changing
    values: the restored image is the resized one, and `to_original` puts
    it back on the original picture.

    Shape:
        Hugging Face processors return channels_first arrays: restore them
        with ``data_format='channels_first'``.

    Args:
        processor_or_config: The processor object, or the dict of its
            ``preprocessor_config.json``.
        name: A name for the spec; defaults to the processor's class name.

    Returns:
        The `PreprocessSpec`.

    Raises:
        DeprocessError: When normalization is on but ``image_mean`` or
            ``image_std`` is missing, or a field is not a number.

    Example:
        >>> from keras_deprocess import spec_from_hf
        >>> spec_from_hf({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}).name
        'hf_image_processor'
    """
    source = _field(processor_or_config, "image_processor") or processor_or_config
    if name is None:
        name = "hf_image_processor" if isinstance(source, Mapping) else type(source).__name__
    where = f"the Hugging Face processor {name!r}"
    scale = 1.0
    if _field(source, "do_rescale", True):
        scale = _number(_field(source, "rescale_factor", 1 / 255), "rescale_factor", where)
    shift = 1.0 if _field(source, "do_rescale", True) and _field(source, "rescale_offset", False) else 0.0
    flip = bool(_field(source, "do_flip_channel_order", False))
    order = "BGR" if flip else "RGB"
    if not _field(source, "do_normalize", True):
        return PreprocessSpec(
            name, scale=scale, mean=(shift,), channel_order=order, description="Hugging Face: rescale only"
        )
    mean, std = _field(source, "image_mean"), _field(source, "image_std")
    if mean is None or std is None:
        raise DeprocessError(
            "Expected `image_mean` and `image_std` on a Hugging Face image processor with "
            f"do_normalize=True. Received image_mean={shown(mean)}, image_std={shown(std)} from "
            f"{type(source).__name__}. Pass them with spec_from_mean_std(mean, std)."
        )
    spec = PreprocessSpec(name, scale=scale, mean=mean, std=std, description="Hugging Face image processor")
    if shift:
        spec = PreprocessSpec(name, scale=scale, mean=tuple(m + shift for m in spec.mean), std=spec.std)
    if flip:
        # The flip comes last, so per-channel constants given for RGB land reversed.
        spec = PreprocessSpec(
            name,
            scale=spec.scale,
            mean=spec.mean[::-1],
            std=spec.std[::-1],
            channel_order="BGR",
            description="Hugging Face image processor, channels flipped to BGR",
        )
    return spec


# -- torchvision-style transforms ----------------------------------------------------

# Steps that move pixels without changing their values.
_GEOMETRIC = ("Resize", "Crop", "Pad", "Flip", "Rotat", "Affine", "Perspective", "Elastic", "Zoom")
_GEOMETRIC_EXACT = ("ScaleJitter", "RandomShortestSize", "Identity")
# Conversions to a tensor, and the factor they apply to uint8 values.
_TO_FLOAT = {"ToTensor": 1 / 255, "MaybeToTensor": 1 / 255}
_AS_IS = ("PILToTensor", "MaybePILToTensor", "ToImage", "ToImageTensor", "ToTensorV2", "ToPureTensor", "RGB")
# Colour steps no per-channel map can undo.
_COLOUR = (
    "ConvertMode",
    "ColorJitter",
    "Grayscale",
    "RandomGrayscale",
    "GaussianBlur",
    "GaussianNoise",
    "RandomErasing",
    "Solarize",
    "Posterize",
    "Equalize",
    "Autocontrast",
    "AdjustSharpness",
    "Invert",
    "AutoAugment",
    "RandAugment",
    "TrivialAugmentWide",
    "AugMix",
    "LinearTransformation",
    "PhotometricDistort",
    "ChannelPermutation",
    "Lambda",
)


def _converts_mode_only(step: Any, name: str) -> bool:
    """A step that makes the image RGB (open_clip's ``MaybeConvertMode``, ``_convert_to_rgb``).

    It changes no value of an RGB image; one converting to another mode
    (greyscale, say) does, and is left to the colour checks.
    """
    if "rgb" in name.lower():
        return True
    if name in ("ConvertMode", "MaybeConvertMode", "ConvertImageMode"):
        return str(getattr(step, "mode", "RGB")).upper() == "RGB"
    return False


def _is_transform_pipeline(obj: Any) -> bool:
    return type(obj).__name__ == "Compose" and isinstance(getattr(obj, "transforms", None), (list, tuple))


def _is_normalize(obj: Any) -> bool:
    return type(obj).__name__ == "Normalize" and hasattr(obj, "mean") and hasattr(obj, "std")


def _step_name(step: Any) -> str:
    if callable(step) and type(step).__name__ in ("function", "partial", "method"):
        return str(getattr(step, "__name__", getattr(getattr(step, "func", None), "__name__", "function")))
    return type(step).__name__


def _conversion_factor(step: Any, name: str) -> float | None:
    """The factor a conversion to a tensor applies to uint8 values; None when `step` is none."""
    if name in _TO_FLOAT:
        return _TO_FLOAT[name]
    if name in _AS_IS:
        return 1.0
    if name in ("ToDtype", "ConvertImageDtype", "ConvertDtype"):
        dtype = str(getattr(step, "dtype", "float"))
        scales = getattr(step, "scale", name != "ToDtype")
        return 1 / 255 if "float" in dtype and scales else 1.0
    return None


def _flat_steps(obj: Any) -> list[Any]:
    if not _is_transform_pipeline(obj):
        return [obj]
    return [step for inner in obj.transforms for step in _flat_steps(inner)]


def _implied_conversion(normalize: Any, mean: tuple[float, ...], label: str) -> float:
    """The scaling a Normalize with no conversion step before it is read as following.

    albumentations says (``max_pixel_value``). Otherwise the mean tells: a
    mean above 1 is in pixel units (``Normalize(mean=(123.675, ...))`` on a
    float tensor of [0, 255] values), one within [-1, 1] follows ``ToTensor``.
    """
    max_pixel = getattr(normalize, "max_pixel_value", None)
    if max_pixel:
        return 1 / _number(max_pixel, "max_pixel_value", label)
    return 1.0 if max(abs(m) for m in mean) > 1 else 1 / 255


def _spec_from_transforms(obj: Any) -> PreprocessSpec:
    """Compose the pipeline's value-changing steps into one map of the uint8 input."""
    label = type(obj).__name__
    multiplier, offset = np.ones(3), np.zeros(3)
    factors: list[float] = []
    normalizes: list[tuple[tuple[float, ...], tuple[float, ...]]] = []
    factors_after_normalize = 1.0
    for step in _flat_steps(obj):
        name = _step_name(step)
        if _is_normalize(step):
            mean = PreprocessSpec("step", mean=step.mean).mean
            std = PreprocessSpec("step", std=step.std).std
            if not factors:
                factors.append(_implied_conversion(step, mean, label))
                multiplier, offset = multiplier * factors[-1], offset * factors[-1]
            normalizes.append((mean, std))
            multiplier = multiplier / np.broadcast_to(std, 3)
            offset = (offset - np.broadcast_to(mean, 3)) / np.broadcast_to(std, 3)
            continue
        factor = _conversion_factor(step, name)
        if factor is not None:
            if normalizes:
                factors_after_normalize *= factor
            else:
                factors.append(factor)
            multiplier, offset = multiplier * factor, offset * factor
            continue
        if _converts_mode_only(step, name) or name in _GEOMETRIC_EXACT or any(w in name for w in _GEOMETRIC):
            continue
        if any(word in name for word in _COLOUR):
            raise DeprocessError(
                f"Cannot invert the {name} step of the {label}: it changes colours in a way that no "
                "per-channel map undoes. Restore the output of a pipeline without it (e.g. the "
                "evaluation transforms), or pass spec_from_mean_std(mean, std) for its Normalize."
            )
        raise DeprocessError(
            f"Cannot tell whether the {name} step of the {label} changes pixel values. Expected "
            "conversions (ToTensor, ToImage, ToDtype), Normalize, and geometric steps (Resize, "
            "CenterCrop, ...), which are skipped. Pass spec_from_mean_std(mean, std) for its Normalize."
        )
    description = f"{label} (torchvision-style): " + (
        f"{len(normalizes)} Normalize step(s)" if normalizes else "no Normalize"
    )
    if len(normalizes) == 1 and factors_after_normalize == 1.0:
        mean, std = normalizes[0]
        scale = math.prod(factors)
        return PreprocessSpec(label, scale=scale, mean=mean, std=std, description=description)
    return PreprocessSpec.from_affine(tuple(multiplier), tuple(offset), name=label, description=description)


# The presets of torchvision's weights (``torchvision/transforms/_presets.py``): they
# convert to float in [0, 1] (``convert_image_dtype``), then normalize, except
# ObjectDetection, which only converts. The first releases kept the constants
# in private attributes.
_TORCHVISION_PRESETS = (
    "ImageClassification",
    "SemanticSegmentation",
    "VideoClassification",
    "ObjectDetection",
)


def _torchvision_preset(obj: Any) -> Any:
    return obj if type(obj).__name__ in _TORCHVISION_PRESETS and callable(obj) else None


def _spec_from_torchvision_preset(preset: Any) -> PreprocessSpec:
    name = type(preset).__name__
    mean = _field(preset, "mean", _field(preset, "_mean"))
    std = _field(preset, "std", _field(preset, "_std"))
    if mean is None or std is None:
        return PreprocessSpec(name, scale=1 / 255, description=f"torchvision {name}: to float in [0, 1]")
    return PreprocessSpec(
        name, scale=1 / 255, mean=mean, std=std, description=f"torchvision {name}: to float, Normalize"
    )


# -- timm ---------------------------------------------------------------------------

_TIMM_KEYS = ("input_size", "interpolation", "crop_pct", "crop_mode", "num_classes", "hf_hub_id", "url")


def _timm_config(obj: Any) -> Mapping[str, Any] | None:
    """A timm data config, or the ``pretrained_cfg`` of a timm model; None for anything else."""
    if isinstance(obj, Mapping):
        looks_like_timm = "mean" in obj and "std" in obj and any(key in obj for key in _TIMM_KEYS)
        return obj if looks_like_timm else None
    config = getattr(obj, "pretrained_cfg", None) or getattr(obj, "default_cfg", None)
    if isinstance(config, Mapping) and "mean" in config and "std" in config:
        return config
    return None


def _spec_from_timm(config: Mapping[str, Any]) -> PreprocessSpec:
    # timm's transforms are ToTensor (or MaybeToTensor) then Normalize(mean, std).
    name = str(config.get("architecture") or config.get("tag") or "timm")
    return PreprocessSpec(
        name, scale=1 / 255, mean=config["mean"], std=config["std"], description="timm data config"
    )


# -- detectron2 ------------------------------------------------------------------------


def _detectron2_fields(obj: Any) -> tuple[Any, Any, Any] | None:
    """(pixel mean, pixel std, format) from a config, a LazyConfig or a model; None otherwise."""
    if isinstance(obj, Mapping):
        model = obj.get("MODEL")
        if isinstance(model, Mapping) and "PIXEL_MEAN" in model:
            fmt = _field(obj.get("INPUT") or {}, "FORMAT", "BGR")
            return model["PIXEL_MEAN"], model.get("PIXEL_STD", (1.0, 1.0, 1.0)), fmt
        model = obj.get("model")
        if isinstance(model, Mapping) and "pixel_mean" in model:
            return (
                model["pixel_mean"],
                model.get("pixel_std", (1.0, 1.0, 1.0)),
                model.get("input_format", "BGR"),
            )
        return None
    if hasattr(obj, "pixel_mean") and hasattr(obj, "pixel_std"):
        return obj.pixel_mean, obj.pixel_std, getattr(obj, "input_format", "BGR")
    return None


def _spec_from_detectron2(mean: Any, std: Any, fmt: Any) -> PreprocessSpec:
    if fmt not in ("BGR", "RGB"):
        raise DeprocessError(
            f"Expected a detectron2 INPUT.FORMAT of 'BGR' or 'RGB'. Received: FORMAT={shown(fmt)}. "
            "Only colour images in one of those orders can be restored."
        )
    # PIXEL_MEAN and PIXEL_STD are in [0, 255] units, in FORMAT's channel order.
    return PreprocessSpec(
        "detectron2",
        scale=1.0,
        mean=mean,
        std=std,
        channel_order=str(fmt),
        description=f"detectron2: (x - PIXEL_MEAN) / PIXEL_STD on {fmt} [0, 255]",
    )


# -- all of them ------------------------------------------------------------------------


def spec_from_object(obj: Any) -> PreprocessSpec | None:
    """The spec an object of another library describes, or None when it is none of them."""
    readers: tuple[tuple[Callable[[Any], Any], Callable[..., PreprocessSpec]], ...] = (
        (lambda o: o if _is_normalize(o) or _is_transform_pipeline(o) else None, _spec_from_transforms),
        (_torchvision_preset, _spec_from_torchvision_preset),
        (_detectron2_fields, lambda fields: _spec_from_detectron2(*fields)),
        (_timm_config, _spec_from_timm),
        (lambda o: o if looks_like_hf(o) else None, spec_from_hf),
    )
    for recognise, read in readers:
        found = recognise(obj)
        if found is not None:
            return read(found)
    return None
