"""One call's work as data: which map, which way, on which axis, to which dtype.

The public functions turn their arguments into a `Plan`; the engines
(`keras_deprocess.engines`) only run plans. A plan is frozen and hashable,
so compiled kernels are cached per plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from keras_deprocess.core.spec import Affine, PreprocessSpec

__all__ = ["FORWARD", "INVERSE", "Plan"]

INVERSE, FORWARD = "inverse", "forward"


@dataclass(frozen=True)
class Plan:
    """A spec's map in one direction, on the channel axis `axis`, giving `out_dtype`.

    Attributes:
        spec: The preprocessing.
        axis: The channel axis, non-negative.
        out_dtype: "uint8" (the correctly rounded image; inverse only) or a
            float dtype name.
        clip: Clip the inverse to [0, 255] (always, for uint8).
        direction: "inverse" (model input → image) or "forward".
    """

    spec: PreprocessSpec
    axis: int
    out_dtype: str
    clip: bool = True
    direction: str = INVERSE

    @classmethod
    def inverse(cls, spec: PreprocessSpec, axis: int, out_dtype: str, clip: bool = True) -> Plan:
        return cls(spec, axis, out_dtype, clip or out_dtype == "uint8", INVERSE)

    @classmethod
    def forward(cls, spec: PreprocessSpec, axis: int, out_dtype: str) -> Plan:
        return cls(spec, axis, out_dtype, False, FORWARD)

    @property
    def affine(self) -> Affine:
        """The per-channel part of the map, in this plan's direction."""
        return self.spec.inverse_affine() if self.direction == INVERSE else self.spec.forward_affine()

    @property
    def rounds(self) -> bool:
        """True for the correctly rounded uint8 image (computed in float64)."""
        return self.direction == INVERSE and self.out_dtype == "uint8"

    @property
    def is_affine(self) -> bool:
        return self.spec.is_affine

    def at_axis(self, axis: int) -> Plan:
        """The same work on another channel axis (an engine's own view of the array)."""
        return Plan(self.spec, axis, self.out_dtype, self.clip, self.direction)
