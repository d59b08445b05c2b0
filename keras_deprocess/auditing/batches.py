"""Finding the images in what a pipeline yields: datasets, loaders, iterables of batches, records.

Nothing here imports a framework or a data library: tensors are recognised
by their own type (`keras_deprocess.frameworks`), a Keras ``PyDataset`` only
when Keras is already imported, and everything else by duck typing (a
Hugging Face ``datasets.Dataset`` iterates over rows, dicts of columns).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from keras_deprocess.core.layout import IMAGE_CHANNELS
from keras_deprocess.errors import DeprocessError, shown
from keras_deprocess.frameworks import backend_for, framework_and_array

__all__ = ["IMAGE_KEYS", "SAMPLES_PER_BATCH", "batches_of", "image_in"]

# Samples (rank-3 images) are grouped this many to a batch: datasets of samples, unbatched tf.data.
SAMPLES_PER_BATCH = 32
# Where records keep their images, by the names libraries give them, most specific first.
IMAGE_KEYS = ("pixel_values", "image", "images", "img", "input", "inputs", "x")


def batches_of(data: Any, key: Any, count: int) -> Iterator[Any]:
    """The image tensors of the first `count` batches of `data`, each of rank 4 (or more).

    `data` is one batch (an array or tensor, an ``(x, y)`` tuple, a dict),
    a Keras ``PyDataset`` (indexed by batch), or any iterable of batches or
    of samples (a tf.data.Dataset, a torch DataLoader or Dataset, a Hugging
    Face dataset, a list, a generator). Samples, rank-3 images, are stacked
    `SAMPLES_PER_BATCH` to a batch, in their own framework.
    """
    if isinstance(data, (str, bytes, os.PathLike)):
        raise DeprocessError(
            f"Expected images to audit: an array or tensor, or a dataset of them. Received a path, "
            f"{shown(os.fspath(data))}. Load the file first (np.load, torch.load), or audit it from the "
            "command line: keras-deprocess audit FILE."
        )
    if _is_one_record(data):
        yield _as_batch([image_in(data, key)])
        return
    pydataset = _keras_pydataset()
    if pydataset is not None and isinstance(data, pydataset):
        for index in range(min(count, len(data))):
            yield _as_batch([image_in(data[index], key)])
        return
    try:
        if not hasattr(type(data), "__iter__") and hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            elements = (data[index] for index in range(len(data)))  # a map-style dataset of samples
        else:
            elements = iter(data)
    except TypeError:
        raise DeprocessError(
            "Expected images to audit: an array or tensor, an (x, y) tuple or a dict holding one, or a "
            "dataset, loader or iterable of them. Received an object of type "
            f"{type(data).__qualname__}: {shown(data)}. Pass the batch itself (x of an (x, y) pair), "
            "or the dataset or loader that yields it."
        ) from None
    produced = 0
    samples: list[Any] = []
    for element in elements:
        image = image_in(element, key)
        if _rank(image) >= 4:
            if samples:
                raise DeprocessError(
                    "Expected either batches or single images from the pipeline. Received single images "
                    f"(rank 3) and then a batch of shape {_shape(image)}."
                )
            yield image
            produced += 1
        else:
            samples.append(image)
            if len(samples) == SAMPLES_PER_BATCH:
                yield _as_batch(samples)
                samples, produced = [], produced + 1
        if produced >= count:
            return
    if samples:
        yield _as_batch(samples)


def _is_one_record(data: Any) -> bool:
    if backend_for(data) is not None or isinstance(data, (Mapping, tuple)):
        return True
    return _is_pil(data)


def _keras_pydataset() -> Any:
    keras = sys.modules.get("keras")
    utils = getattr(keras, "utils", None)
    return getattr(utils, "PyDataset", None)


def _is_pil(value: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    image_class = getattr(pil, "Image", None)
    return image_class is not None and isinstance(value, image_class)


def image_in(record: Any, key: Any) -> Any:
    """The image tensor of one record: the array itself, ``x`` of ``(x, y[, w])``, or a dict's entry.

    Raises:
        DeprocessError: When a dict holds no entry `key`, or several image-like
            entries and no `key`; the message lists what it holds.
    """
    if backend_for(record) is not None or _is_pil(record):
        return record
    if isinstance(record, Mapping):
        if key is not None:
            if key not in record:
                raise DeprocessError(
                    f"Expected an entry {shown(key)} (key=) in each record. Received a dict with "
                    f"{_listing(record)}. Pass the key of the images."
                )
            return record[key]
        for name in IMAGE_KEYS:
            if name in record:
                return record[name]
        images = [k for k, v in record.items() if _looks_like_images(v)]
        if len(images) == 1:
            return record[images[0]]
        found = "several image-like entries" if images else "no entry that looks like images"
        raise DeprocessError(
            f"Expected the images of each record at a known key ({', '.join(IMAGE_KEYS)}). Received a "
            f"dict with {_listing(record)}: {found}. Pass key= to choose."
        )
    if isinstance(record, (tuple, list)) and record:
        if isinstance(key, int) and not isinstance(key, bool):
            if not -len(record) <= key < len(record):
                raise DeprocessError(
                    f"Expected key= to be a position in each (x, y, ...) record. Received key={key} for "
                    f"records of {len(record)} elements."
                )
            return image_in(record[key], None)
        return image_in(record[0], key)  # (x, y[, sample_weight]): the inputs come first
    return record


def _looks_like_images(value: Any) -> bool:
    shape = _shape(value)
    return len(shape) >= 3 and (shape[-1] in IMAGE_CHANNELS or shape[-3] in IMAGE_CHANNELS)


def _listing(record: Mapping[Any, Any]) -> str:
    parts = [
        f"{shown(k, 30)}: {_shape(v) or type(v).__name__}" for k, v in itertools.islice(record.items(), 12)
    ]
    return "entries " + ", ".join(parts) + (" ..." if len(record) > 12 else "")


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    if shape is None:
        return ()
    try:
        return tuple(int(d) if d is not None else -1 for d in shape)
    except TypeError:
        return ()


def _rank(image: Any) -> int:
    if _is_pil(image):
        return 3
    shape = getattr(image, "shape", None)
    return len(shape) if shape is not None else np.ndim(image)


def _as_batch(samples: list[Any]) -> Any:
    """Rank-3 samples (or one batch) → one batch of rank 4, stacked in their own framework."""
    if len(samples) == 1 and _rank(samples[0]) >= 4:
        return samples[0]
    natives = [framework_and_array(np.asarray(s) if _is_pil(s) else s) for s in samples]
    backend, first = natives[0]
    shapes = {tuple(b.shape(a)) for b, a in natives}
    if len(backend.shape(first)) < 3:
        raise DeprocessError(
            f"Expected images of rank 3 (one image) or 4 (a batch). Received an image of shape "
            f"{tuple(backend.shape(first))}."
        )
    if len(shapes) > 1:
        raise DeprocessError(
            f"Expected samples of one shape, to stack {len(samples)} of them into a batch. Received "
            f"shapes {sorted(shapes)[:4]}. Resize them in the pipeline, or give batches."
        )
    if any(b.name != backend.name for b, _ in natives):
        return np.stack([b.to_numpy(a) for b, a in natives])
    return backend.concat([a[None] for _, a in natives], 0)
