"""Restoring preprocessed tensors inside Ray Data pipelines: one machine, or a cluster.

Ray Data moves batches as dicts of NumPy arrays (``batch_format="numpy"``),
one array per column. The pipeline has three parts:

- `read_arrays` reads any input `keras-deprocess restore` reads (`.npy`,
  `.npz`, `.pt`, `.safetensors`, TFRecord, `.tar` shards, folders, globs)
  into a dataset of one row per image, each with the file name the CLI
  would give it, its source file, key and index;
- `RestoreBatches`, a callable for ``Dataset.map_batches``, restores one
  column of preprocessed tensors to uint8 images, channels last, and says
  per row how many pixels were clipped and whether the batch contradicts
  the spec;
- `write_restored` writes each image to its file and the manifest the CLI
  writes with ``--manifest``: the same files, the same lines.

``ray.data.read_numpy`` and ``Dataset.write_images`` work as well, with
Ray's own file names. Only `read_arrays` and `write_restored` import Ray:
`RestoreBatches` is plain NumPy, and runs as well outside a pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from keras_deprocess.checks.mismatch import MISMATCH_SAMPLE_PIXELS, spec_mismatch
from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.colorization import out_of_gamut
from keras_deprocess.core.config import resolve_data_format
from keras_deprocess.datasets import open_arrays, read_images
from keras_deprocess.datasets.naming import MANIFEST_NAME, manifest_line, plan_outputs, safe_stem
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks.numpy import NumpyBackend
from keras_deprocess.images import to_images
from keras_deprocess.registry import get_spec

__all__ = ["RestoreBatches", "WriteImages", "read_arrays", "write_restored"]

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


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DeprocessError(
            "Ray Data pipelines need Ray, which is not installed. Install it with "
            "pip install 'keras-deprocess[ray]'."
        ) from None
    return ray


def read_arrays(
    path: str | Path,
    *,
    key: str | None = None,
    feature: str | None = None,
    image_format: str = "png",
    images_per_task: int = 256,
) -> Any:
    """A Ray dataset of one row per image of `path`, read where the tasks run.

    The headers are read here, on the driver (a bad file fails before any
    task starts), and every output name is planned as ``keras-deprocess
    restore`` plans it (flat naming; two arrays that would write one file
    are an error). The images are read by the tasks, `images_per_task` at
    a time, so the files must be where the workers can read them (a shared
    file system, or one machine).

    Columns: ``data`` (the preprocessed image, in the file's layout),
    ``source`` (its file, as given), ``key``, ``index`` (in its array),
    ``file`` (the name the CLI writes, relative to its output folder) and
    ``order`` (the CLI's writing order).

    Args:
        path: A file, folder or glob, as for `keras_deprocess.datasets.open_arrays`.
        key: Only the arrays with this key.
        feature: For TFRecord files, the feature that holds the image.
        image_format: The extension of the planned names: 'png', 'jpg' or 'webp'.
        images_per_task: Images each read task reads.

    Returns:
        A ``ray.data.Dataset``.

    Raises:
        DeprocessError: For a file that cannot be read, or names that collide.

    Example::

        restore = RestoreBatches("clip", data_format="channels_first")
        ds = read_arrays("shards/*.tar").map_batches(restore, batch_format="numpy")
        write_restored(ds, "restored/", spec=restore.spec.name)
    """
    ray = _import_ray()
    tasks = []
    with open_arrays(path, key=key, feature=feature) as source:
        entries = source.entries
        plans = plan_outputs(
            ((safe_stem(e.key), e.position, e.images, e.batched) for e in entries),
            "flat",
            image_format,
            lambda i: f"array {shown(entries[i].key)}",
            source.name,
        )
        order = 0
        for entry, plan in zip(entries, plans, strict=True):
            file, own_key = source.locate(entry)
            position = source.own(entry).position
            for first in range(0, entry.images, max(1, images_per_task)):
                count = min(images_per_task, entry.images - first)
                names = [plan.name(first + i) for i in range(count)]
                tasks.append(
                    {
                        "path": os.path.abspath(file),
                        "source": file,
                        "key": own_key,
                        "filter": key,
                        "position": position,
                        "feature": feature,
                        "first": first,
                        "names": names,
                        "order": order,
                    }
                )
                order += count
    return ray.data.from_items(tasks).flat_map(_read_task)


def _read_task(task: dict[str, Any]) -> list[dict[str, Any]]:
    """On a worker: the images of one task, one row each."""
    with open_arrays(task["path"], key=task["filter"], feature=task["feature"]) as source:
        entry = _entry(source, task["position"])
        images = read_images(source, entry, task["first"], len(task["names"]))
    return [
        {
            "data": image,
            "source": task["source"],
            "key": task["key"],
            "index": task["first"] + i,
            "file": name,
            "order": task["order"] + i,
        }
        for i, (image, name) in enumerate(zip(images, task["names"], strict=True))
    ]


def _entry(source: Any, position: int) -> Any:
    for entry in source.entries:
        if entry.position == position:
            return entry
    raise DeprocessError(f"{source.name}: changed since it was planned; run the pipeline again")


class WriteImages:
    """A `Dataset.map_batches` callable: each row's uint8 image to ``out_dir / row['file']``.

    The image is encoded by Pillow as the CLI encodes it (PNG and lossless
    WebP keep every pixel; JPEG at quality 95), so the files are the CLI's,
    byte for byte. Returns, per row, its ``order`` and its manifest
    ``line`` (see `keras_deprocess.datasets.naming.manifest_line`).
    """

    def __init__(self, out_dir: str | os.PathLike[str], spec: str, column: str = "data") -> None:
        self.out_dir, self.spec, self.column = Path(out_dir), spec, column

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from PIL import Image

        lines = []
        for i, name in enumerate(batch["file"]):
            image = np.asarray(batch[self.column][i], np.uint8)
            if image.ndim == 3 and image.shape[-1] == 1:
                image = image[..., 0]
            target = self.out_dir / str(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            suffix = target.suffix.lower()
            picture = Image.fromarray(np.ascontiguousarray(image))
            # Whole or absent: a task killed mid-write leaves a hidden part, never a cut image.
            part = target.with_name(f".{target.name}.{os.getpid()}.part")
            if suffix == ".webp":
                picture.save(part, format="WEBP", lossless=True)
            elif suffix == ".jpg":
                picture.save(part, format="JPEG", quality=95)
            else:
                picture.save(part, format="PNG")
            os.replace(part, target)
            clipped = int(batch["clipped"][i]) if "clipped" in batch else 0
            mismatch = str(batch["mismatch"][i]) if "mismatch" in batch else ""
            lines.append(
                manifest_line(
                    str(name),
                    str(batch["source"][i]),
                    str(batch["key"][i]),
                    int(batch["index"][i]),
                    self.spec,
                    clipped,
                    mismatch,
                )
            )
        return {"order": np.asarray(batch["order"], np.int64), "line": np.asarray(lines, dtype=object)}


def write_restored(dataset: Any, out_dir: str | os.PathLike[str], *, spec: str, force: bool = False) -> int:
    """Write every restored image of `dataset` to `out_dir`, and ``manifest.jsonl`` beside them.

    The dataset comes from `read_arrays` and `RestoreBatches` (its
    ``file``, ``source``, ``key``, ``index``, ``order``, ``clipped`` and
    ``mismatch`` columns). The images are written by the tasks; the
    manifest, in the CLI's order, by the driver. Unlike the CLI, a failed
    pipeline may leave some images written: Ray retries tasks, and the
    manifest appears only when every image is written.

    Args:
        dataset: A ``ray.data.Dataset``.
        out_dir: The output folder: new or empty (made if missing), or
            anything with `force`.
        spec: The spec's name for the manifest (``RestoreBatches(...).spec.name``).
        force: Write into a folder that holds files, overwriting the images
            and manifest this pipeline writes.

    Returns:
        The number of images written.

    Example::

        restore = RestoreBatches("ResNet50")
        ds = read_arrays("/shared/batches/").map_batches(restore, batch_format="numpy")
        write_restored(ds, "/shared/restored", spec=restore.spec.name)  # images + manifest.jsonl
    """
    out = Path(os.path.abspath(out_dir))  # the workers run elsewhere: never relative to their folder
    manifest = out / MANIFEST_NAME
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DeprocessError(
            f"Expected an empty or new out_dir for write_restored. Received {shown(str(out_dir))}, which "
            "holds files. Pick another folder, or pass force=True to overwrite what the pipeline writes."
        )
    if out.exists() and not out.is_dir():
        raise DeprocessError(f"Expected a folder for out_dir. Received {shown(str(out_dir))}, a file.")
    out.mkdir(parents=True, exist_ok=True)
    written = dataset.map_batches(WriteImages(out, spec), batch_format="numpy")
    rows = sorted((int(row["order"]), str(row["line"])) for row in written.iter_rows())
    temporary = manifest.with_name(f".{MANIFEST_NAME}.part")
    with open(temporary, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(line for _, line in rows)
    os.replace(temporary, manifest)
    return len(rows)
