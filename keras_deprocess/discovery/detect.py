"""`detect_mode`: which preprocessing most likely produced an array.

The arguments are read as every public function reads them; a strided
sample is taken where the array lives; `keras_deprocess.checks.detection`
scores the candidates on it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_deprocess.checks.detection import ModeGuess, describe_guess, score_sample
from keras_deprocess.checks.sample import strided_pixels
from keras_deprocess.core.layout import assumption, channel_axis, data_format_for
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import framework_and_array
from keras_deprocess.registry import MODES

__all__ = ["ModeGuess", "describe_guess", "detect_mode"]

# Pixels sampled, evenly strided, to score the candidates on.
DETECT_SAMPLE_PIXELS = 1 << 18


def detect_mode(x: Any, data_format: str | None = None) -> list[ModeGuess]:
    """Rank the registered modes and presets by how well they explain `x`.

    Each candidate's inverse is applied to an evenly strided sample of at
    most 262,144 pixels, and scored as an image: the share of values it
    restores outside [0, 255], how close they come to whole numbers (images
    that were uint8 come back whole under the right spec), and how much of
    the range they use.

    Args:
        x: A preprocessed array or tensor (NumPy, TensorFlow, JAX, torch),
            rank 3 or more, with 3 channels.
        data_format: 'channels_last', 'channels_first', or None:
            'channels_first' for PyTorch tensors, else
            `keras.config.image_data_format()`.

    Returns:
        A list of `ModeGuess`, best first, confidences summing to 1.

    Raises:
        DeprocessError: For an empty array, one without a finite pixel, a
            non-real dtype, a wrong channel count, or a traced array.

    Limits:
        - Specs with the same map cannot be told apart: 'tf', 'inception'
          and 'half' are one candidate, and so are 'torch' and 'imagenet'.
        - Quantization is the strongest signal. Arrays from resized,
          blurred, augmented or optimized images (not whole numbers in
          pixel space) leave range and spread: 'torch' and 'clip', whose
          maps differ by about 1%, then stay close.
        - A flat or very dark image fits several candidates; confidence
          says so.
        - Only the registered modes and presets are candidates: a custom
          spec is recovered by `infer_spec` from the function instead.

    Example:
        >>> import numpy as np
        >>> from keras_deprocess import detect_mode, preprocess_input
        >>> image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> detect_mode(preprocess_input(image, "VGG16"), "channels_last")[0].name
        'caffe'
    """
    backend, x = framework_and_array(x)
    assumed = assumption(backend.channels_first_by_default, data_format)
    data_format = data_format_for(backend.channels_first_by_default, data_format)
    if backend.is_traced(x):
        raise DeprocessError(
            "Expected concrete values to detect the mode from. Received a traced array (inside "
            "tf.function, jax.jit, torch.compile or a symbolic Keras model), which has none. Detect "
            "outside the trace, on a batch at hand, and pass the result's spec inside."
        )
    dtype = backend.dtype_name(x)
    if not (dtype.startswith(("float", "int", "uint")) or dtype == "bfloat16"):
        raise DeprocessError(
            f"Expected a real floating-point array of preprocessed images. Received dtype {dtype}. "
            "Cast it to float32 first."
        )
    shape = tuple(backend.shape(x))
    axis = channel_axis(
        shape,
        MODES["caffe"],
        data_format,
        "to detect the mode (every candidate is RGB)",
        assumed_because=assumed,
    )
    pixels = strided_pixels(backend, x, axis, DETECT_SAMPLE_PIXELS).astype(np.float64)
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    if len(pixels) == 0:
        size = math.prod(d or 0 for d in shape)
        raise DeprocessError(
            f"Expected at least one pixel with finite values to detect the mode from. Received shape "
            f"{shape}{' with no finite pixel' if size else ''}. Pass a non-empty array of "
            "preprocessed images."
        )
    return score_sample(pixels)
