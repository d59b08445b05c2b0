"""Specs written as mean/std, the way PyTorch and Hugging Face write them.

torchvision's ``Normalize(mean, std)`` after ``ToTensor()`` and a Hugging Face
image processor (``rescale_factor``, ``image_mean``, ``image_std``) are both
``(x * scale - mean) / std`` on RGB input: a `PreprocessSpec` as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_deprocess.errors import DeprocessError
from keras_deprocess.spec import PreprocessSpec

__all__ = ["PRESETS", "spec_from_hf", "spec_from_mean_std"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# OpenAI CLIP's image normalization constants.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def spec_from_mean_std(
    mean: Any,
    std: Any,
    *,
    scale: float = 1 / 255,
    channel_order: str = "RGB",
    name: str = "mean_std",
    description: str = "",
) -> PreprocessSpec:
    r"""A spec from mean/std as PyTorch and Hugging Face write them.

    .. math::

        y_c = \frac{x_{\mathrm{order}[c]} \cdot \mathrm{scale} - \mathrm{mean}_c}{\mathrm{std}_c}

    Args:
        mean: One value, or three in output channel order, in the units of
            ``x * scale`` (so [0, 1] units with the default scale).
        std: As `mean`.
        scale: Applied to the [0, 255] input first: 1/255 for torchvision's
            ``ToTensor`` and Hugging Face's default ``rescale_factor``.
        channel_order: "RGB", or "BGR" for models fed BGR.
        name: A name for tables and messages.
        description: Free text.

    Returns:
        The `PreprocessSpec`, usable wherever a model name is.

    Example:
        >>> from keras_deprocess import get_spec, spec_from_mean_std
        >>> spec = spec_from_mean_std((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        >>> spec.same_as(get_spec("torch"))
        True
    """
    return PreprocessSpec(
        name, scale=scale, mean=mean, std=std, channel_order=channel_order, description=description
    )


PRESETS: dict[str, PreprocessSpec] = {
    "imagenet": spec_from_mean_std(
        IMAGENET_MEAN,
        IMAGENET_STD,
        name="imagenet",
        description="torchvision Normalize(ImageNet mean/std) after ToTensor; the same map as mode 'torch'",
    ),
    "clip": spec_from_mean_std(
        CLIP_MEAN, CLIP_STD, name="clip", description="OpenAI CLIP's image mean/std after x / 255"
    ),
    "half": spec_from_mean_std(
        0.5,
        0.5,
        name="half",
        description="mean = std = 0.5 after x / 255: [-1, 1], as VAEs and diffusion models take",
    ),
    "inception": PreprocessSpec(
        "inception",
        scale=1 / 127.5,
        mean=(1.0,),
        description="x / 127.5 - 1, Inception-style; the same map as mode 'tf'",
    ),
}


def _field(source: Any, key: str, default: Any) -> Any:
    if isinstance(source, Mapping):
        return source.get(key, default)
    return getattr(source, key, default)


def spec_from_hf(processor_or_config: Any, *, name: str | None = None) -> PreprocessSpec:
    """A spec from a Hugging Face image processor, or its config dict.

    Reads ``do_rescale`` (default True), ``rescale_factor`` (default 1/255),
    ``do_normalize`` (default True), ``image_mean`` and ``image_std``. A
    processor that wraps an image processor (``AutoProcessor``'s
    ``.image_processor``) is unwrapped. transformers is never imported.
    Resizing and cropping are spatial: they are not undone, and the restored
    image is the resized one.

    Args:
        processor_or_config: The processor object, or the dict of its
            ``preprocessor_config.json``.
        name: A name for the spec; defaults to the processor's class name.

    Returns:
        The `PreprocessSpec`.

    Raises:
        DeprocessError: When normalization is on but ``image_mean`` or
            ``image_std`` is missing.

    Example:
        >>> from keras_deprocess import spec_from_hf
        >>> spec_from_hf({"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}).name
        'hf_image_processor'
    """
    source = _field(processor_or_config, "image_processor", None) or processor_or_config
    if name is None:
        name = "hf_image_processor" if isinstance(source, Mapping) else type(source).__name__
    scale = float(_field(source, "rescale_factor", 1 / 255)) if _field(source, "do_rescale", True) else 1.0
    if not _field(source, "do_normalize", True):
        return PreprocessSpec(name, scale=scale, description="Hugging Face: rescale only")
    mean, std = _field(source, "image_mean", None), _field(source, "image_std", None)
    if mean is None or std is None:
        raise DeprocessError(
            "Expected `image_mean` and `image_std` on a Hugging Face image processor with "
            f"do_normalize=True. Received image_mean={mean!r}, image_std={std!r} from "
            f"{type(source).__name__}. Pass them with spec_from_mean_std(mean, std)."
        )
    return PreprocessSpec(name, scale=scale, mean=mean, std=std, description="Hugging Face image processor")


_HF_FIELDS = ("image_mean", "image_std", "rescale_factor", "do_rescale", "do_normalize", "image_processor")


def looks_like_hf(obj: Any) -> bool:
    """An image processor, a wrapper of one, or a config dict of one."""
    return any(_field(obj, key, None) is not None for key in _HF_FIELDS)
