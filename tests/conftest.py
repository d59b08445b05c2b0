"""Shared fixtures: Keras's own preprocess_input as the reference forward pass."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import configuration

from keras_deprocess import list_models
from keras_deprocess.registry import ModelEntry

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Hypothesis keeps examples and caches under .hypothesis in the working
# directory; tests never write into the repository.
configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="keras-deprocess-hypothesis-"))

# Everything with a Keras preprocess_input to test against; presets are
# tested against their written-out formulas in test_presets.py.
ALL_ENTRIES = [e for e in list_models() if e.kind != "preset"]
ENTRY_IDS = [f"{e.kind}:{e.name}" for e in ALL_ENTRIES]


def run_python(code: str, **env: str) -> str:
    """`code` (dedented) in a fresh interpreter, with `env` added; its stdout.

    Fails the test with the end of stderr when the interpreter exits non-zero.
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def every_value_image() -> np.ndarray:
    """(16, 16, 3) uint8 holding every value 0..255 in every channel.

    The channels are shifted against each other, so a missing or doubled
    RGB↔BGR flip changes the result.
    """
    return np.stack([np.roll(np.arange(256), 85 * c).reshape(16, 16) for c in range(3)], axis=-1).astype(
        np.uint8
    )


def every_value_batch() -> np.ndarray:
    """(2, 16, 16, 3): two different arrangements of `every_value_image`."""
    image = every_value_image()
    return np.stack([image, image.transpose(1, 0, 2)[::-1]])


def to_layout(channels_last: np.ndarray, data_format: str) -> np.ndarray:
    """Move the channel axis where `data_format` wants it (rank 3 or 4)."""
    if data_format == "channels_last":
        return channels_last
    return np.ascontiguousarray(np.moveaxis(channels_last, -1, 0 if channels_last.ndim == 3 else 1))


def keras_preprocess_function(entry: ModelEntry) -> Callable[..., Any]:
    """Keras's real preprocess_input for a registry entry."""
    import keras

    if entry.kind == "mode":
        if entry.mode == "identity":
            # Keras has no 'identity' mode; its no-op modules are the reference.
            return keras.applications.efficientnet.preprocess_input
        return functools.partial(keras.applications.imagenet_utils.preprocess_input, mode=entry.mode)
    return getattr(keras.applications, entry.module).preprocess_input


def keras_forward(entry: ModelEntry, images: Any, data_format: str) -> Any:
    """Keras's forward pass on a copy (Keras writes into float NumPy input)."""
    if isinstance(images, np.ndarray):
        images = images.copy()
    return keras_preprocess_function(entry)(images, data_format=data_format)


def backend() -> str:
    import keras

    return str(keras.backend.backend())


def native(array: Any, dtype: str | None = None) -> Any:
    """A tensor of the active Keras backend (JAX keeps float64 as float32 unless x64 is on)."""
    import keras

    return keras.ops.convert_to_tensor(array, dtype=dtype)


def to_numpy(x: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x))


def native_dtype(x: Any) -> str:
    import keras

    return str(keras.backend.standardize_dtype(x.dtype))


def weighted_sum_gradient(function: Callable[[Any], Any], x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """d sum(function(x) * weights) / dx, on the active backend's autodiff."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        tensor = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            loss = tf.reduce_sum(function(tensor) * weights)
        return np.asarray(tape.gradient(loss, tensor))
    if name == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda t: jnp.sum(function(t) * weights))(jnp.asarray(x)))
    import torch

    tensor = torch.tensor(x, requires_grad=True)
    torch.sum(function(tensor) * torch.tensor(weights)).backward()
    assert tensor.grad is not None
    return tensor.grad.numpy()


def expected_restore_gradient(mode_or_spec: Any, weights: np.ndarray) -> np.ndarray:
    """Per input channel: the weight of the RGB channel it becomes × std / scale."""
    from keras_deprocess import get_spec

    spec = get_spec(mode_or_spec)
    source = spec.inverse_affine().source or (0, 1, 2)
    std = np.broadcast_to(np.asarray(spec.std), 3)
    expected = np.empty(3)
    for rgb_channel, input_channel in enumerate(source):
        expected[input_channel] = weights[rgb_channel] * std[input_channel] / spec.scale
    return expected


@pytest.fixture(scope="session")
def keras_module():
    import keras

    return keras


@pytest.fixture(scope="session")
def tf():
    import tensorflow

    return tensorflow


# -- every framework natively, whatever KERAS_BACKEND says ----------------------------

FRAMEWORKS = ["numpy", "tensorflow", "torch", "jax"]


class Native:
    """Makes and reads arrays of one framework, for tests that run on all of them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def tensor(self, array: np.ndarray, dtype: str | None = None, **kwargs: Any) -> Any:
        dtype = dtype or array.dtype.name
        wide = np.asarray(array, np.float32) if dtype == "bfloat16" else np.asarray(array, dtype)
        if self.name == "numpy":
            if dtype == "bfloat16":
                import ml_dtypes

                return wide.astype(ml_dtypes.bfloat16)
            return wide.copy()
        if self.name == "tensorflow":
            import tensorflow as tf

            return tf.cast(tf.constant(wide), dtype)
        if self.name == "torch":
            import torch

            return torch.tensor(wide, **kwargs).to(getattr(torch, dtype))
        import jax.numpy as jnp

        return jnp.asarray(wide).astype(dtype)

    def numpy(self, x: Any) -> np.ndarray:
        if self.name == "numpy":
            return np.asarray(x)
        if self.name == "torch":
            x = x.detach().cpu()
            return (x.float() if str(x.dtype) == "torch.bfloat16" else x).numpy()
        if self.name == "tensorflow":
            import tensorflow as tf

            return (tf.cast(x, "float32") if x.dtype == tf.bfloat16 else x).numpy()
        import jax.numpy as jnp

        return np.asarray(x.astype(jnp.float32) if x.dtype == jnp.bfloat16 else x)

    def owns(self, x: Any) -> bool:
        from keras_deprocess.frameworks import backend_for

        found = backend_for(x)
        return found is not None and found.name == self.name

    def supports(self, dtype: str) -> bool:
        """JAX keeps float64 as float32 unless x64 is enabled."""
        return not (self.name == "jax" and dtype == "float64")


@pytest.fixture(params=FRAMEWORKS)
def framework(request):
    pytest.importorskip(
        {"numpy": "numpy", "tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}[request.param]
    )
    return Native(request.param)


# -- the host engines, one at a time ----------------------------------------------------


def aligned(array: np.ndarray) -> np.ndarray:
    """A 64-byte-aligned copy, as large NumPy allocations are: the fused XLA path needs it."""
    buffer = np.empty(array.nbytes + 64, np.uint8)
    start = -buffer.ctypes.data % 64
    out = buffer[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


# Host engines, each called directly through the router (no thresholds patched):
# name → (engine, options). "blocked-tiny" uses blocks that split rows and planes.
HOST_ENGINES = {
    "blocked": ("blocked", {}),
    "blocked-tiny": ("blocked", {"block_elements": 7, "map_block_pixels": 5}),
    "compiled": ("compiled", {}),
    "numba": ("numba", {}),
    "numba-general": ("numba", {"flat": False}),
}


class HostEngine:
    """One host engine, run directly on NumPy arrays: what the public function does, minus routing."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.engine, self.options = HOST_ENGINES[name]

    def __repr__(self) -> str:
        return self.name

    def restore(self, x: np.ndarray, model: Any, data_format: str, dtype: str = "uint8", clip: bool = True):
        """The engine's inverse of `x`; raises NonFinite (the engines' own exception) for NaN in uint8."""
        from keras_deprocess import get_spec
        from keras_deprocess.core.layout import channel_position
        from keras_deprocess.core.plan import Plan
        from keras_deprocess.engines import run

        plan = Plan.inverse(get_spec(model), channel_position(x.ndim, data_format), dtype, clip)
        return run(plan, x, engine=self.engine, **self.options)


@pytest.fixture(params=list(HOST_ENGINES))
def host_engine(request):
    """Each host engine in turn; skipped where it cannot run (numba missing, TensorFlow missing)."""
    name = request.param
    if name == "compiled":
        pytest.importorskip("tensorflow")
    if name.startswith("numba"):
        from keras_deprocess.engines import numba

        if not numba.available():
            pytest.skip("numba is not installed (the `fast` extra)")
    return HostEngine(name)
