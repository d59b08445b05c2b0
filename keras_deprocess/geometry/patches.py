"""`unpatchify`: images back from the patch rows that ViT-style processors and models produce.

Two layouts are undone, each exactly as its library writes it:

- MAE / ViTMAE ``(N, L, p * p * C)``: patches row-major over the image,
  each vector ``(py, px, c)`` with the channels fastest
  (huggingface/transformers ``models/vit_mae/modeling_vit_mae.py``
  ``patchify``: ``reshape(N, C, h, p, w, p)``, ``einsum("nchpwq->nhwpqc")``,
  ``reshape(N, h * w, p * p * C)``).
- Qwen2-VL / Qwen2.5-VL ``pixel_values`` ``(sum of t * h * w, C * T * p * p)``
  with ``image_grid_thw``: each image's frames ``(t * T, C, H, W)`` reshaped
  to ``(t, T, C, h / m, m, p, w / m, m, p)`` and transposed by
  ``(0, 3, 6, 4, 7, 2, 1, 5, 8)``: 2 x 2 merge blocks first, channels
  slowest in the vector (``models/qwen2_vl/image_processing_qwen2_vl.py``
  and its fast twin).

Only reshapes and transposes: the values are untouched, still normalized.
"""

from __future__ import annotations

import math
from typing import Any

from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.ops import ops_for

__all__ = ["unpatchify"]

# Qwen2-VL's transpose (0, 3, 6, 4, 7, 2, 1, 5, 8) inverted:
# (t, bh, bw, mh, mw, C, T, py, px) → (t, T, C, bh, mh, py, bw, mw, px).
_QWEN_INVERSE = (0, 6, 5, 1, 3, 7, 2, 4, 8)


def unpatchify(
    patches: Any,
    *,
    patch_size: int | None = None,
    image_size: Any = None,
    channels: int = 3,
    grid_thw: Any = None,
    temporal_patch_size: int | None = None,
    merge_size: int | None = None,
    data_format: str = "channels_first",
) -> Any:
    """Images from patch rows, in the layout the processor started from, values untouched.

    One function, two layouts, told apart by the keywords:

    - ``unpatchify(patches, patch_size=p, image_size=None, channels=3)``:
      MAE / ViTMAE sequences ``(N, L, p * p * C)`` (or ``(L, p * p * C)``),
      vectors ``(py, px, c)``, patches row-major; `image_size` (an int or
      (height, width)) defaults to the square of ``L`` patches. Returns
      ``(N, C, H, W)`` like ViTMAE's ``pixel_values`` (or ``(N, H, W, C)``
      with ``data_format='channels_last'``).
    - ``unpatchify(pixel_values, grid_thw=..., patch_size=14,
      temporal_patch_size=2, merge_size=2)``: Qwen2-VL and Qwen2.5-VL
      processor output ``(rows, C * T * p * p)`` with its ``image_grid_thw``
      (one (t, h, w) per image). Returns a list, one entry per image:
      ``(C, H, W)`` for a still image (the processor stores it as T
      identical frames; one is returned), ``(t * T, C, H, W)`` for a
      video, also a clip of T frames (``t == 1``, frames that differ)
      and, where values cannot be compared (inside a trace), any ``t == 1``.

    The result is still normalized: restore it with the processor's spec
    (``to_images(image, processor, data_format="channels_first")``).
    Reshapes and transposes only, in the input's framework, also inside
    `jax.jit`, `tf.function` and `torch.compile`.

    Args:
        patches: The patch rows, of any framework.
        patch_size: The patch side ``p``: required for MAE; 14 by default
            with `grid_thw`.
        image_size: MAE: the image's size, an int or (height, width).
        channels: MAE: the channels per patch vector.
        grid_thw: Qwen2-VL: ``image_grid_thw``, (t, h, w) per image (a list,
            or an array of any framework).
        temporal_patch_size: Qwen2-VL: frames per patch (2 by default).
        merge_size: Qwen2-VL: the side of a merge block (2 by default).
        data_format: MAE: the layout of the images returned.

    Returns:
        MAE: one array; Qwen2-VL: a list of arrays; in the input's framework.

    Raises:
        DeprocessError: For shapes that do not fit the sizes, or keywords of
            the two forms mixed.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import unpatchify
        >>> images = np.arange(2 * 3 * 4 * 6, dtype=np.float32).reshape(2, 3, 4, 6)  # (N, C, H, W)
        >>> patches = np.einsum("nchpwq->nhwpqc", images.reshape(2, 3, 2, 2, 3, 2)).reshape(2, 6, 12)
        >>> bool((unpatchify(patches, patch_size=2, image_size=(4, 6)) == images).all())
        True
    """
    backend, x = framework_and_array(patches)
    shape = tuple(backend.shape(x))
    if grid_thw is None:
        if temporal_patch_size is not None or merge_size is not None:
            raise DeprocessError(
                "Expected `grid_thw` with `temporal_patch_size` and `merge_size` (Qwen2-VL's form). "
                "Received them without it. Pass grid_thw=image_grid_thw from the processor's output, or "
                "drop them for an MAE sequence."
            )
        if patch_size is None:
            raise DeprocessError(
                "Expected `patch_size` for an MAE sequence (N, L, p * p * C), or `grid_thw` for Qwen2-VL's "
                "pixel_values. Received neither. Pass patch_size=16 (the model config's patch_size)."
            )
        return _mae(backend, x, shape, patch_size, image_size, channels, data_format)
    if image_size is not None:
        raise DeprocessError(
            "Expected `image_size` only for an MAE sequence. Received it with `grid_thw`, which gives each "
            "image's size already. Drop image_size."
        )
    return _qwen(backend, x, shape, grid_thw, patch_size or 14, temporal_patch_size or 2, merge_size or 2)


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DeprocessError(f"Expected `{name}` to be a positive integer. Received: {name}={shown(value)}.")
    return value


def _mae(
    backend: Any,
    x: Any,
    shape: tuple[Any, ...],
    patch_size: Any,
    image_size: Any,
    channels: Any,
    data_format: str,
) -> Any:
    p, c = _positive(patch_size, "patch_size"), _positive(channels, "channels")
    if data_format not in ("channels_first", "channels_last"):
        raise DeprocessError(
            "Expected `data_format` 'channels_first' or 'channels_last'. Received: "
            f"data_format={shown(data_format)}."
        )
    if len(shape) not in (2, 3) or shape[-1] != p * p * c:
        raise DeprocessError(
            f"Expected MAE patches of shape (N, L, {p * p * c}) or (L, {p * p * c}): patch_size={p} squared "
            f"times channels={c}. Received shape {shape}. Check patch_size and channels."
        )
    count = shape[-2]
    if image_size is None:
        side = math.isqrt(count)
        if side * side != count:
            raise DeprocessError(
                f"Expected a square number of patches without `image_size`. Received {count} patches. Pass "
                "image_size=(height, width)."
            )
        rows = columns = side
    else:
        height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        rows, columns = _positive(height, "image_size") // p, _positive(width, "image_size") // p
        if rows * columns != count or rows * p != height or columns * p != width:
            raise DeprocessError(
                f"Expected {count} patches to tile image_size={image_size!r} with patch_size={p}. They tile "
                f"{rows}x{columns} patches. Pass the image size the sequence was made from."
            )
    ops = ops_for(backend)
    batch = shape[:-2]
    x = ops.reshape(x, (*batch, rows, columns, p, p, c))
    lead = len(batch)
    n = tuple(range(lead))
    h, w, py, px, ch = (lead + i for i in range(5))
    if data_format == "channels_first":  # "nhwpqc -> nchpwq"
        x = ops.permute(x, (*n, ch, h, py, w, px))
        return ops.reshape(x, (*batch, c, rows * p, columns * p))
    x = ops.permute(x, (*n, h, py, w, px, ch))
    return ops.reshape(x, (*batch, rows * p, columns * p, c))


def _grid(grid_thw: Any) -> list[tuple[int, int, int]]:
    """(t, h, w) per image, as Python ints (a list stays Python: nothing to trace under torch.compile)."""
    if isinstance(grid_thw, (list, tuple)):
        rows = list(grid_thw)
        if rows and not isinstance(rows[0], (list, tuple)):
            rows = [rows]
    else:
        backend, array = framework_and_array(grid_thw)
        if backend.is_traced(array):
            raise DeprocessError(
                "Expected `grid_thw` as concrete numbers (the sizes decide the shapes). Received a traced "
                "array. Pass it as a list or a NumPy array, outside the trace."
            )
        values = backend.to_numpy(array)
        rows = (values[None] if values.ndim == 1 else values).tolist()
    ok = all(isinstance(row, (list, tuple)) and len(row) == 3 for row in rows)
    ok = ok and all(not isinstance(v, bool) and int(v) == v and v >= 1 for row in rows for v in row)
    if not rows or not ok:
        raise DeprocessError(
            "Expected `grid_thw` as (t, h, w) per image, positive integers: image_grid_thw from the "
            f"processor. Received: grid_thw={shown(rows)}."
        )
    return [(int(t), int(h), int(w)) for t, h, w in rows]


def _qwen(
    backend: Any, x: Any, shape: tuple[Any, ...], grid_thw: Any, patch_size: Any, temporal: Any, merge: Any
) -> list[Any]:
    p, tps, m = (
        _positive(patch_size, "patch_size"),
        _positive(temporal, "temporal_patch_size"),
        _positive(merge, "merge_size"),
    )
    grid = _grid(grid_thw)
    if len(shape) != 2 or shape[1] % (tps * p * p):
        raise DeprocessError(
            f"Expected Qwen2-VL pixel_values of shape (rows, C * {tps} * {p} * {p}). Received shape {shape}. "
            "Check patch_size and temporal_patch_size (the processor's)."
        )
    channels = shape[1] // (tps * p * p)
    total = sum(t * h * w for t, h, w in grid)
    if total != shape[0]:
        raise DeprocessError(
            f"Expected {total} rows for grid_thw={grid} (t * h * w per image). Received {shape[0]} rows. "
            "Pass "
            "the image_grid_thw that came with these pixel_values."
        )
    ops = ops_for(backend)
    out, start = [], 0
    for t, h, w in grid:
        if h % m or w % m:
            raise DeprocessError(
                f"Expected grid sizes divisible by merge_size={m}. Received (t, h, w)=({t}, {h}, {w}). "
                "Pass the "
                "processor's merge_size."
            )
        rows = x[start : start + t * h * w]
        start += t * h * w
        blocks = ops.reshape(rows, (t, h // m, w // m, m, m, channels, tps, p, p))
        frames = ops.reshape(ops.permute(blocks, _QWEN_INVERSE), (t * tps, channels, h * p, w * p))
        out.append(frames[0] if t == 1 and _one_still_image(backend, frames) else frames)
    return out


def _one_still_image(backend: Any, frames: Any) -> bool:
    """Whether the T frames of a t=1 grid are one still image repeated (Qwen2-VL's way of storing a picture).

    A two-frame clip also has t=1; returning only its first frame would drop
    the second silently. Inside a trace the values cannot be compared, so the
    frames are all returned there.
    """
    if backend.is_traced(frames):
        return False
    host = backend.to_numpy(frames)
    return bool((host == host[:1]).all())
