"""Restoring preprocessed tensors inside Ray Data pipelines: one machine, or a cluster.

Ray Data moves batches as dicts of NumPy arrays (``batch_format="numpy"``),
one array per column. `RestoreBatches` is a callable for
``Dataset.map_batches``: it restores one column of preprocessed tensors to
uint8 images, channels last, and says per row how many pixels were clipped
and whether the batch contradicts the spec, so that a pipeline over millions
of samples is as never-silent as one call. Nothing here imports Ray: the
callable is plain NumPy, and runs as well outside a pipeline.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.checks.mismatch import MISMATCH_SAMPLE_PIXELS, spec_mismatch
from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.colorization import out_of_gamut
from keras_deprocess.core.config import resolve_data_format
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.images import to_images
from keras_deprocess.registry import get_spec

__all__ = ["RestoreBatches"]

_NUMPY = NumpyBackend()


class RestoreBatches:
    """A `Dataset.map_batches` callable: a column of preprocessed tensors back to uint8 images.

    For each batch (a dict of NumPy arrays, as ``batch_format="numpy"``
    gives), the images in `column` are restored exactly, as `to_images`
    restores them, and written back to `output_column`, channels last. Two
    columns are added:

    - ``clipped``: per row, the pixels whose values restore outside
      [0, 255] (outside sRGB for a Lab spec), which the uint8 image clips;
    - ``mismatch``: per row, what a strided sample of the batch says
      against the spec (``"whole-elsewhere"``, ``"normalized-twice"``,
      ``"clipped"``, ``"narrow"``, see `SpecMismatchWarning`), or ``""``.

    The other columns pass through, so a row keeps its path, key and label.

    Shape:
        - ``batch[column]``: ``(N, H, W, C)`` or ``(N, C, H, W)`` as
          `data_format` says, any float or integer dtype.
        - ``batch[output_column]``: ``(N, H, W, C)`` uint8.

    Args:
        model: What produced the tensors, as for `to_images`: a
            keras.applications name, a mode, a preset, a `PreprocessSpec` or
            a handle (a torchvision ``Normalize``, a timm config, ...).
        mode: As for `to_images`, instead of `model`.
        column: The column holding the preprocessed tensors
            (``ray.data.read_numpy`` names it ``"data"``).
        output_column: Where the images go; `column` itself by default.
        data_format: The layout of the tensors: 'channels_last' (the
            default) or 'channels_first'.
        check: Judge each batch against the spec (the ``mismatch`` column).

    Raises:
        DeprocessError: At construction, for an unknown spec or layout; on a
            batch, for a missing column or tensors the spec cannot restore.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import preprocess_input
        >>> from keras_deprocess.ray_data import RestoreBatches
        >>> images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
        >>> batch = {"data": preprocess_input(images, "ResNet50", data_format="channels_last")}
        >>> out = RestoreBatches("ResNet50")(batch)
        >>> bool((out["data"] == images).all()), out["clipped"].tolist(), out["mismatch"].tolist()
        (True, [0, 0], ['', ''])

        In a pipeline, on this machine or a cluster (``ray.init(address=...)``)::

            ds = ray.data.read_numpy("s3://bucket/batches/")
            ds = ds.map_batches(RestoreBatches("ResNet50"), batch_format="numpy")
            ds.write_images("s3://bucket/restored/", column="data", file_format="png")
    """

    def __init__(
        self,
        model: Any = None,
        *,
        mode: str | None = None,
        column: str = "data",
        output_column: str | None = None,
        data_format: str | None = "channels_last",
        check: bool = True,
    ) -> None:
        if (model is None) == (mode is None):
            raise DeprocessError(
                "Expected exactly one of `model` and `mode` for RestoreBatches. Received "
                f"model={shown(model)}, mode={shown(mode)}. A pipeline restores many batches with one "
                "spec: name it, e.g. RestoreBatches('ResNet50') or RestoreBatches(mode='torch')."
            )
        self.model, self.mode = model, mode
        # Resolved here, on the driver, so that a wrong name fails before any task starts.
        self.spec = get_spec(model if model is not None else mode)
        self.column = column
        self.output_column = output_column or column
        self.data_format = resolve_data_format(data_format or "channels_last")
        self.check = bool(check)

    def __repr__(self) -> str:
        return f"RestoreBatches({self.spec.name!r}, column={self.column!r}, data_format={self.data_format!r})"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(batch, dict) or self.column not in batch:
            held = sorted(map(str, batch)) if isinstance(batch, dict) else type(batch).__name__
            raise DeprocessError(
                f"Expected a batch with a column {self.column!r} of preprocessed tensors. Received "
                f"{shown(held)}. Pass column= (ray.data.read_numpy names it 'data'), and "
                "batch_format='numpy' to map_batches."
            )
        tensors = np.asarray(batch[self.column])
        images = to_images(tensors, self.spec, data_format=self.data_format, check=False)
        rows = len(images) if tensors.ndim >= 4 else 1
        out = dict(batch)
        out[self.output_column] = images
        out["clipped"] = self._clipped(tensors, rows)
        out["mismatch"] = np.full(rows, self._mismatch(tensors) if self.check else "", dtype=object)
        return out

    def _clipped(self, tensors: np.ndarray, rows: int) -> np.ndarray:
        mask = out_of_gamut(tensors, self.spec, data_format=self.data_format).mask
        return np.asarray(mask.reshape(rows, -1).sum(axis=1), np.int64)

    def _mismatch(self, tensors: np.ndarray) -> str:
        if not self.spec.is_affine:
            return ""  # Lab scales are checked by the restore itself
        axis = tensors.ndim - 1 if self.data_format == "channels_last" else tensors.ndim - 3
        pixels = strided_pixels(_NUMPY, tensors, axis, MISMATCH_SAMPLE_PIXELS).astype(np.float64)
        found = spec_mismatch(pixels[np.isfinite(pixels).all(axis=1)], self.spec)
        return "" if found is None else found.kind
