"""A preprocessing step as data: one description from which both directions derive.

Every `keras.applications` `preprocess_input` is a per-channel affine map,
optionally preceded by a channel reordering. `PreprocessSpec` stores the four
numbers that define it; `forward_affine` and `inverse_affine` derive the
coefficients the array code applies, so the forward pass and its inverse can
never drift apart.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np

from keras_deprocess.errors import DeprocessError, shown

__all__ = [
    "Affine",
    "PreprocessSpec",
    "spec_from_lab",
    "spec_from_mean_std",
]

RGB = "RGB"
RGB_SPACE, LAB_SPACE = "rgb", "lab"
COLOR_SPACES = (RGB_SPACE, LAB_SPACE)


class Affine(NamedTuple):
    """Coefficients of ``out[c] = in[source[c]] * multiplier[c] + offset[c]``.

    ``source`` is None when channels keep their order. ``multiplier`` and
    ``offset`` have one entry per channel, or a single entry that applies to
    every channel.
    """

    source: tuple[int, ...] | None
    multiplier: tuple[float, ...]
    offset: tuple[float, ...]


def _leaves(value: Any) -> list[Any]:
    """The numbers of a number, sequence, NumPy array or tensor (of any framework), flattened."""
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    if hasattr(value, "tolist"):  # NumPy and its scalars, torch, JAX (also with requires_grad)
        return _leaves(value.tolist())
    if hasattr(value, "numpy") and callable(value.numpy):  # TensorFlow
        return _leaves(value.numpy())
    return [value]


def _as_float_tuple(name: str, value: Any) -> tuple[float, ...]:
    def refuse(why: str) -> DeprocessError:
        return DeprocessError(
            f"Expected `{name}` to be a number, or a sequence, array or tensor of 1 or 3 numbers. "
            f"Received: {name}={shown(value)} ({type(value).__name__}){why}. "
            f"Pass e.g. {name}=(0.485, 0.456, 0.406)."
        )

    if isinstance(value, (str, bytes)):
        raise refuse(": a string, not numbers")
    leaves = _leaves(value)
    # Any real number (Fraction, Decimal-free numbers.Real, NumPy scalars), but not a bool.
    if not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in leaves):
        raise refuse("")
    values = tuple(float(v) for v in leaves)
    if len(values) not in (1, 3):
        raise DeprocessError(
            f"Expected `{name}` to have 1 value (all channels) or 3 values (one per channel). "
            f"Received {len(values)} values: {name}={shown(values)}."
        )
    if not all(math.isfinite(v) for v in values):
        raise DeprocessError(f"Expected finite values in `{name}`. Received: {name}={values}.")
    return values


def _check_coefficients(spec: PreprocessSpec) -> None:
    for direction, affine in (("forward", spec.forward_affine()), ("inverse", spec.inverse_affine())):
        numbers = affine.multiplier + affine.offset
        if not all(math.isfinite(v) for v in numbers) or not all(affine.multiplier):
            raise DeprocessError(
                f"Expected scale, mean and std whose {direction} map has finite, non-zero "
                f"coefficients. Received scale={spec.scale:.6g}, mean={_short(spec.mean)}, "
                f"std={_short(spec.std)}, which give multipliers {_short(affine.multiplier)} and "
                f"offsets {_short(affine.offset)}. Check the units: mean and std are in the units "
                "of x * scale."
            )


@dataclass(frozen=True)
class PreprocessSpec:
    r"""A preprocessing step as data: a colour space, a channel order, a per-channel affine map.

    The forward pass maps an RGB image with values in [0, 255] to the model's
    input. In the default colour space, 'rgb', for output channel ``c``:

    .. math::

        y_c = \frac{x_{\mathrm{order}[c]} \cdot \mathrm{scale} - \mathrm{mean}_c}{\mathrm{std}_c}

    and the inverse is

    .. math::

        x_{\mathrm{order}[c]} = \frac{y_c \cdot \mathrm{std}_c + \mathrm{mean}_c}{\mathrm{scale}}

    ``mean`` and ``std`` are given in the *output* channel order, as Keras
    gives them: 'caffe' subtracts ``[103.939, 116.779, 123.68]`` from B, G, R.

    With ``color_space='lab'`` the image is first converted to CIE Lab as
    `skimage.color.rgb2lab` computes it (sRGB, D65, 2° observer; L in
    [0, 100]), and the affine map then applies to (L, a, b):
    ``y_c = (Lab_c * scale - mean_c) / std_c``. The inverse undoes the map,
    then converts Lab back to sRGB, clipping colours outside the gamut
    (`keras_deprocess.out_of_gamut` counts them). `spec_from_lab` builds
    such specs from an L centre, an L scale and an ab scale.

    Args:
        name: A short name, used in messages and tables.
        scale: Multiplier applied to the [0, 255] input first (1/255 for
            'torch', 1/127.5 for 'tf').
        mean: One value for all channels, or three (output channel order).
        std: One value for all channels, or three (output channel order).
        channel_order: A permutation of "RGB" naming the input channel that
            lands in each output channel: "BGR" for 'caffe'. A 'lab' spec
            keeps L, a, b in order ("RGB", the default, meaning no reordering).
        color_space: "rgb" (default) or "lab".
        description: Free text for tables and reprs.

    Two specs are equal when their fields are equal, whatever their names;
    `same_as` compares the maps themselves, however they are written.

    Example:
        >>> from keras_deprocess import PreprocessSpec
        >>> spec = PreprocessSpec("half", scale=1 / 127.5, mean=(1.0,))
        >>> spec.inverse_affine().multiplier
        (127.5,)
    """

    name: str = field(compare=False)
    scale: float = 1.0
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    channel_order: str = "RGB"
    description: str = field(default="", compare=False)
    color_space: str = "rgb"

    def __post_init__(self) -> None:
        mean = _as_float_tuple("mean", self.mean)
        std = _as_float_tuple("std", self.std)
        if any(s == 0.0 for s in std):
            raise DeprocessError(
                f"Expected every `std` value to be non-zero: a zero std has no inverse. Received: std={std}."
            )
        scales = _as_float_tuple("scale", self.scale)
        if len(scales) != 1:
            raise DeprocessError(
                f"Expected `scale` to be one number, applied to every channel. Received: scale={scales}."
            )
        scale = scales[0]
        if scale == 0.0 or not math.isfinite(scale):
            raise DeprocessError(
                f"Expected `scale` to be a finite, non-zero number. Received: scale={scale}."
            )
        order = self.channel_order.upper() if isinstance(self.channel_order, str) else ""
        if sorted(order) != sorted(RGB):
            raise DeprocessError(
                "Expected `channel_order` to be a permutation of 'RGB', such as 'BGR'. "
                f"Received: channel_order={shown(self.channel_order)}."
            )
        space = self.color_space.lower() if isinstance(self.color_space, str) else ""
        if space not in COLOR_SPACES:
            raise DeprocessError(
                f"Expected `color_space` to be one of {COLOR_SPACES}. "
                f"Received: color_space={shown(self.color_space)}."
            )
        if space == LAB_SPACE and order != RGB:
            raise DeprocessError(
                "Expected a 'lab' spec to keep its channels as L, a, b (channel_order='RGB', the "
                f"default). Received: channel_order={shown(self.channel_order)}."
            )
        object.__setattr__(self, "color_space", space)
        object.__setattr__(self, "name", str(self.name))
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "channel_order", order)
        _check_coefficients(self)

    @property
    def is_identity(self) -> bool:
        """True when both directions return the input unchanged."""
        source, multiplier, offset = self.forward_affine()
        affine_identity = source is None and set(multiplier) == {1.0} and set(offset) == {0.0}
        return affine_identity and self.color_space == RGB_SPACE

    @property
    def channels(self) -> int | None:
        """3 when the spec needs three channels; None when it applies to any count."""
        if (
            self.color_space == RGB_SPACE
            and self.channel_order == RGB
            and len(self.mean) == len(self.std) == 1
        ):
            return None
        return 3

    @property
    def is_affine(self) -> bool:
        """True when the whole map is per-channel affine: no colour conversion."""
        return self.color_space == RGB_SPACE

    @cached_property
    def _source(self) -> tuple[int, ...] | None:
        if self.channel_order == RGB:
            return None
        return tuple(RGB.index(letter) for letter in self.channel_order)

    def forward_affine(self) -> Affine:
        """Coefficients of the forward pass: RGB [0, 255] → model input (after the colour conversion)."""
        return self._forward

    def inverse_affine(self) -> Affine:
        """Coefficients of the inverse: model input → RGB [0, 255] (before the colour conversion)."""
        return self._inverse

    @cached_property
    def _forward(self) -> Affine:
        mean, std = _broadcast(self.mean, self.std)
        return Affine(
            self._source,
            tuple(self.scale / s for s in std),
            tuple(-m / s for m, s in zip(mean, std, strict=True)),
        )

    @cached_property
    def _inverse(self) -> Affine:
        mean, std = _broadcast(self.mean, self.std)
        multiplier = tuple(s / self.scale for s in std)
        offset = tuple(m / self.scale for m in mean)
        if self._source is None:
            return Affine(None, multiplier, offset)
        # Output channel k of the inverse is input channel c with source[c] == k.
        source = tuple(self._source.index(k) for k in range(len(self._source)))
        if len(multiplier) == 3:
            multiplier = tuple(multiplier[c] for c in source)
            offset = tuple(offset[c] for c in source)
        return Affine(source, multiplier, offset)

    @classmethod
    def from_affine(
        cls,
        multiplier: Any,
        offset: Any,
        *,
        channel_order: str = RGB,
        name: str = "affine",
        description: str = "",
    ) -> PreprocessSpec:
        """The spec of ``y_c = x_order[c] * multiplier_c + offset_c``.

        Stored with ``scale=1``, ``std = 1 / multiplier`` and
        ``mean = -offset / multiplier``: pixel units, as Keras's 'caffe' mean.
        """
        multiplier = _as_float_tuple("multiplier", multiplier)
        offset = _as_float_tuple("offset", offset)
        if any(m == 0.0 for m in multiplier):
            raise DeprocessError(
                f"Expected non-zero multipliers: a zero multiplier has no inverse. Received {multiplier}."
            )
        multiplier, offset = _broadcast(multiplier, offset)
        return cls(
            name,
            scale=1.0,
            # + 0.0 turns -0.0 into 0.0 for readable reprs.
            mean=tuple(-o / m + 0.0 for m, o in zip(multiplier, offset, strict=True)),
            std=tuple(1.0 / m for m in multiplier),
            channel_order=channel_order,
            description=description,
        )

    def same_as(self, other: PreprocessSpec, rtol: float = 1e-6) -> bool:
        """True when both specs compute the same map, to `rtol`, however they are written.

        `other` is a spec; for a name, look it up first: ``spec.same_as(get_spec("caffe"))``.
        A spec knows nothing of the registry's names.
        """
        if not isinstance(other, PreprocessSpec):
            raise DeprocessError(
                f"Expected a PreprocessSpec to compare with. Received {shown(other)} "
                f"({type(other).__name__}). Look names and handles up first: "
                f"spec.same_as(get_spec({shown(other, 40)}))."
            )
        if self.color_space != other.color_space:
            return False
        mine, theirs = self.forward_affine(), other.forward_affine()
        identity = (0, 1, 2)
        if (mine.source or identity) != (theirs.source or identity):
            return False
        for a, b in ((mine.multiplier, theirs.multiplier), (mine.offset, theirs.offset)):
            a, b = _broadcast(a, b)
            if not all(math.isclose(x, y, rel_tol=rtol, abs_tol=rtol) for x, y in zip(a, b, strict=True)):
                return False
        return True

    def to_config(self) -> dict[str, Any]:
        """Plain values only, for Keras layer configs and JSON."""
        return {
            "name": self.name,
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "channel_order": self.channel_order,
            "description": self.description,
            "color_space": self.color_space,
        }

    @classmethod
    def from_config(cls, config: Any) -> PreprocessSpec:
        """The inverse of `to_config`.

        A config names the spec and gives at least one of ``scale``, ``mean``
        and ``std``; other missing fields take their defaults. Unknown keys,
        and a config that says nothing of the map (which would silently be
        the identity), are refused.
        """
        known = {f.name for f in fields(cls)}
        if not isinstance(config, Mapping) or not all(isinstance(k, str) for k in config):
            raise DeprocessError(
                f"Expected a spec config: a dict with keys from {sorted(known)}. "
                f"Received: {shown(config)}. PreprocessSpec.to_config() writes one."
            )
        unknown = sorted(set(config) - known)
        if unknown:
            raise DeprocessError(
                f"Expected a spec config with keys from {sorted(known)}. Received unknown keys "
                f"{shown(unknown)}. Remove them, or build the spec with PreprocessSpec(...)."
            )
        missing = [k for k in ("name",) if k not in config]
        if missing or not any(k in config for k in ("scale", "mean", "std")):
            what = "no name" if missing else "none of scale, mean and std"
            raise DeprocessError(
                f"Expected a spec config with a name and at least one of scale, mean and std. Received "
                f"{shown(dict(config))}, with {what}: read as a spec, it would be the identity without a "
                "word. Write configs with PreprocessSpec.to_config(), or pass every field, e.g. "
                "{'name': 'mine', 'scale': 1/255, 'mean': [0.5], 'std': [0.5]}; for mean and std "
                "as PyTorch writes them, spec_from_mean_std(mean, std)."
            )
        return cls(**config)

    def __repr__(self) -> str:
        parts = [repr(self.name), f"scale={self.scale:.6g}"]
        parts.append(f"mean={_short(self.mean)}")
        parts.append(f"std={_short(self.std)}")
        if self.channel_order != RGB:
            parts.append(f"channel_order={self.channel_order!r}")
        if self.color_space != RGB_SPACE:
            parts.append(f"color_space={self.color_space!r}")
        return f"PreprocessSpec({', '.join(parts)})"


def _broadcast(
    mean: tuple[float, ...], std: tuple[float, ...]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = max(len(mean), len(std))
    return (mean * n if len(mean) == 1 else mean), (std * n if len(std) == 1 else std)


def _short(values: tuple[float, ...]) -> str:
    if len(values) == 1:
        return f"{values[0]:.6g}"
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


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

    Raises:
        DeprocessError: For a mean above 1 with scale=1/255: pixel-unit
            means (123.675, ...) need scale=1.

    Example:
        >>> from keras_deprocess import get_spec, spec_from_mean_std
        >>> spec = spec_from_mean_std((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        >>> spec.same_as(get_spec("torch"))
        True
    """
    spec = PreprocessSpec(
        name, scale=scale, mean=mean, std=std, channel_order=channel_order, description=description
    )
    if math.isclose(spec.scale * 255, 1.0, rel_tol=1e-6) and max(abs(m) for m in spec.mean) > 1:
        raise DeprocessError(
            "Expected mean in the units of x * scale: [0, 1] with the default scale=1/255. Received "
            f"mean={shown(spec.mean)}, in pixel units. Pass scale=1 with pixel-unit mean and std, "
            f"or divide both by 255."
        )
    return spec


def spec_from_lab(
    l_center: float = 0.0,
    l_scale: float = 1.0,
    ab_scale: float = 1.0,
    *,
    name: str = "lab_normalized",
    description: str = "",
) -> PreprocessSpec:
    r"""A CIE Lab spec: RGB → Lab (as `skimage.color.rgb2lab`), then L and ab normalized.

    .. math::

        y_L = \frac{L - \mathrm{l\_center}}{\mathrm{l\_scale}}, \quad
        y_a = \frac{a}{\mathrm{ab\_scale}}, \quad
        y_b = \frac{b}{\mathrm{ab\_scale}}

    with L in [0, 100] and a, b unnormalized (about -86 to 98, and -108 to
    94, over the sRGB gamut).

    Args:
        l_center: Subtracted from L: 50 for Zhang et al.'s colorizers.
        l_scale: L is then divided by it: 100 for Zhang et al.'s PyTorch
            models, 1 for the original Caffe deploy.
        ab_scale: a and b are divided by it: 110 for the PyTorch models.
        name: A name for tables and messages.
        description: Free text.

    Returns:
        A `PreprocessSpec` with ``color_space='lab'``, usable wherever a model
        name is.

    Example:
        >>> from keras_deprocess import get_spec, spec_from_lab
        >>> spec_from_lab(50, 100, 110).same_as(get_spec("colorization"))
        True
    """
    return PreprocessSpec(
        name,
        scale=1.0,
        mean=(l_center, 0.0, 0.0),
        std=(l_scale, ab_scale, ab_scale),
        color_space=LAB_SPACE,
        description=description or f"CIE Lab, then (L - {l_center:g}) / {l_scale:g}, ab / {ab_scale:g}",
    )
