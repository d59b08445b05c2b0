"""A preprocessing step as data: one description from which both directions derive.

Every `keras.applications` `preprocess_input` is a per-channel affine map,
optionally preceded by a channel reordering. `PreprocessSpec` stores the four
numbers that define it; `forward_affine` and `inverse_affine` derive the
coefficients the array code applies, so the forward pass and its inverse can
never drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from keras_deprocess.errors import DeprocessError

__all__ = ["CAFFE", "IDENTITY", "TF", "TORCH", "Affine", "PreprocessSpec"]

RGB = "RGB"


class Affine(NamedTuple):
    """Coefficients of ``out[c] = in[source[c]] * multiplier[c] + offset[c]``.

    ``source`` is None when channels keep their order. ``multiplier`` and
    ``offset`` have one entry per channel, or a single entry that applies to
    every channel.
    """

    source: tuple[int, ...] | None
    multiplier: tuple[float, ...]
    offset: tuple[float, ...]


def _as_float_tuple(name: str, value: Any) -> tuple[float, ...]:
    if isinstance(value, (int, float)):
        values: tuple[float, ...] = (float(value),)
    else:
        try:
            values = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise DeprocessError(
                f"Expected `{name}` to be a number or a sequence of 1 or 3 numbers. "
                f"Received: {name}={value!r}."
            ) from None
    if len(values) not in (1, 3):
        raise DeprocessError(
            f"Expected `{name}` to have 1 value (all channels) or 3 values "
            f"(one per channel). Received {len(values)} values: {name}={values}."
        )
    if not all(math.isfinite(v) for v in values):
        raise DeprocessError(f"Expected finite values in `{name}`. Received: {name}={values}.")
    return values


@dataclass(frozen=True)
class PreprocessSpec:
    r"""A per-channel affine preprocessing step with a channel order.

    The forward pass maps an RGB image with values in [0, 255] to the model's
    input. For output channel ``c``:

    .. math::

        y_c = \frac{x_{\mathrm{order}[c]} \cdot \mathrm{scale} - \mathrm{mean}_c}{\mathrm{std}_c}

    and the inverse is

    .. math::

        x_{\mathrm{order}[c]} = \frac{y_c \cdot \mathrm{std}_c + \mathrm{mean}_c}{\mathrm{scale}}

    ``mean`` and ``std`` are given in the *output* channel order, as Keras
    gives them: 'caffe' subtracts ``[103.939, 116.779, 123.68]`` from B, G, R.

    Args:
        name: A short name, used in messages and tables.
        scale: Multiplier applied to the [0, 255] input first (1/255 for
            'torch', 1/127.5 for 'tf').
        mean: One value for all channels, or three (output channel order).
        std: One value for all channels, or three (output channel order).
        channel_order: A permutation of "RGB" naming the input channel that
            lands in each output channel: "BGR" for 'caffe'.
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
    channel_order: str = RGB
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        mean = _as_float_tuple("mean", self.mean)
        std = _as_float_tuple("std", self.std)
        if any(s == 0.0 for s in std):
            raise DeprocessError(
                f"Expected every `std` value to be non-zero: a zero std has no inverse. Received: std={std}."
            )
        try:
            scale = float(self.scale)
        except (TypeError, ValueError):
            raise DeprocessError(
                f"Expected `scale` to be a number. Received: scale={self.scale!r}."
            ) from None
        if scale == 0.0 or not math.isfinite(scale):
            raise DeprocessError(
                f"Expected `scale` to be a finite, non-zero number. Received: scale={scale}."
            )
        order = str(self.channel_order).upper()
        if sorted(order) != sorted(RGB):
            raise DeprocessError(
                "Expected `channel_order` to be a permutation of 'RGB', such as 'BGR'. "
                f"Received: channel_order={self.channel_order!r}."
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        object.__setattr__(self, "scale", scale)
        object.__setattr__(self, "channel_order", order)

    @property
    def is_identity(self) -> bool:
        """True when both directions return the input unchanged."""
        source, multiplier, offset = self.forward_affine()
        return source is None and set(multiplier) == {1.0} and set(offset) == {0.0}

    @property
    def channels(self) -> int | None:
        """3 when the spec needs three channels; None when it applies to any count."""
        if self.channel_order == RGB and len(self.mean) == len(self.std) == 1:
            return None
        return 3

    @cached_property
    def _source(self) -> tuple[int, ...] | None:
        if self.channel_order == RGB:
            return None
        return tuple(RGB.index(letter) for letter in self.channel_order)

    def forward_affine(self) -> Affine:
        """Coefficients of the forward pass: RGB [0, 255] → model input."""
        return self._forward

    def inverse_affine(self) -> Affine:
        """Coefficients of the inverse: model input → RGB [0, 255]."""
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
        """True when both specs compute the same map, to `rtol`, however they are written."""
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
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PreprocessSpec:
        """The inverse of `to_config`."""
        return cls(**config)

    def __repr__(self) -> str:
        parts = [repr(self.name), f"scale={self.scale:.6g}"]
        parts.append(f"mean={_short(self.mean)}")
        parts.append(f"std={_short(self.std)}")
        if self.channel_order != RGB:
            parts.append(f"channel_order={self.channel_order!r}")
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


CAFFE = PreprocessSpec(
    "caffe",
    scale=1.0,
    mean=(103.939, 116.779, 123.68),
    channel_order="BGR",
    description="RGB→BGR, minus the ImageNet mean pixel (BGR order), no scaling",
)
TF = PreprocessSpec(
    "tf",
    scale=1 / 127.5,
    mean=(1.0,),
    description="x / 127.5 - 1: values in [-1, 1]",
)
TORCH = PreprocessSpec(
    "torch",
    scale=1 / 255.0,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    description="x / 255, minus the ImageNet mean, divided by the ImageNet std",
)
IDENTITY = PreprocessSpec(
    "identity",
    description="preprocess_input does nothing: the model rescales and normalizes inside the network",
)
