"""Speed of restore_original_image_from_array against its anchors, as ratios from one run.

Anchors:
- `np.copyto` of the input into a preallocated array: the memory-bandwidth yardstick;
- "hand-written": the common deprocess, copy + per-channel in-place ops, flip, clip, astype;
- "broadcast": one broadcast multiply-add, then rint, clip, astype;
- keras `Normalization(invert=True)`, eager (TensorFlow);
- a hand-written fused XLA kernel (`tf.function(jit_compile=True)`) of the same math.

Every figure is the median of repeated calls after warm-up. Run:

    python benchmarks/bench_restore.py            # everything
    python benchmarks/bench_restore.py --quick    # the headline cases only
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from keras_deprocess import get_spec, restore_original_image_from_array
from keras_deprocess.math.host import engine_name as numpy_engine

MODES = ("caffe", "tf", "torch")


def median_ms(fn: Callable[[], Any], min_time: float = 0.4, max_repeats: int = 200) -> float:
    for _ in range(2):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - started < min_time and len(times) < max_repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def _constants(mode: str, data_format: str, ndim: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    source, multiplier, offset = get_spec(mode).inverse_affine()
    shape = [1] * ndim
    axis = ndim - 1 if data_format == "channels_last" else (0 if ndim == 3 else 1)
    shape[axis] = -1
    m = np.broadcast_to(np.asarray(multiplier, np.float32), 3).reshape(shape)
    b = np.broadcast_to(np.asarray(offset, np.float32), 3).reshape(shape)
    return m, b, list(source or (0, 1, 2))


def hand_written(x: np.ndarray, mode: str, data_format: str) -> np.ndarray:
    m, b, source = _constants(mode, data_format, x.ndim)
    axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    x = x.copy()
    for c in range(3):
        index = [slice(None)] * x.ndim
        index[axis] = c
        x[tuple(index)] *= m.reshape(-1)[c]
        x[tuple(index)] += b.reshape(-1)[c]
    x = np.take(x, source, axis=axis) if source != [0, 1, 2] else x
    return np.clip(x, 0, 255).astype(np.uint8)


def broadcast(x: np.ndarray, mode: str, data_format: str) -> np.ndarray:
    m, b, source = _constants(mode, data_format, x.ndim)
    axis = x.ndim - 1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if source != [0, 1, 2]:
        x = np.flip(x, axis)
    return np.clip(np.rint(x * m + b), 0, 255).astype(np.uint8)


def peak_extra_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - result.nbytes) / (1 << 20)


def numpy_section(quick: bool) -> list[tuple[str, float, str, float]]:
    rows = []
    rng = np.random.default_rng(0)
    batches = (64,) if quick else (1, 64)
    dtypes = ("float32",) if quick else ("float32", "float64")
    outs = ("uint8",) if quick else ("uint8", "float32")
    formats = ("channels_last",) if quick else ("channels_last", "channels_first")
    modes = ("caffe",) if quick else MODES
    for n in batches:
        for dtype in dtypes:
            for data_format in formats:
                shape = (n, 224, 224, 3) if data_format == "channels_last" else (n, 3, 224, 224)
                x = rng.uniform(-120, 150, shape).astype(dtype)
                target = np.empty_like(x)
                copy_ms = median_ms(lambda x=x, target=target: np.copyto(target, x))
                for mode in modes:
                    for out in outs:
                        case = f"N={n} {dtype}->{out} {data_format} {mode}"
                        ours = median_ms(
                            lambda x=x, mode=mode, out=out, data_format=data_format: (
                                restore_original_image_from_array(
                                    x, mode=mode, data_format=data_format, dtype=out
                                )
                            )
                        )
                        rows.append((case, ours, "np.copyto", copy_ms))
                        if out == "uint8":
                            hand = median_ms(lambda x=x, mode=mode, f=data_format: hand_written(x, mode, f))
                            rows.append((case, ours, "hand-written", hand))
                            if not quick:
                                wide = median_ms(lambda x=x, mode=mode, f=data_format: broadcast(x, mode, f))
                                rows.append((case, ours, "broadcast", wide))
    return rows


def overhead_section() -> list[tuple[str, float, str, float]]:
    rows = []
    x = np.random.default_rng(1).uniform(-120, 150, (224, 224, 3)).astype(np.float32)
    m, b, _ = _constants("caffe", "channels_last", 3)

    def bare() -> np.ndarray:
        y = x[..., ::-1] * m
        y += b
        np.rint(y, out=y)
        np.clip(y, 0, 255, out=y)
        return y.astype(np.uint8)

    ours = median_ms(lambda: restore_original_image_from_array(x, "VGG16", data_format="channels_last"))
    rows.append(("one 224x224x3 image, caffe -> uint8", ours, "bare NumPy math", median_ms(bare)))
    big = np.random.default_rng(2).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32)
    extra = peak_extra_mib(
        lambda: restore_original_image_from_array(big, mode="caffe", data_format="channels_last")
    )
    rows.append(("peak extra memory, N=64 -> uint8 (MiB)", extra, "output size (MiB)", big.size / (1 << 20)))
    imports = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import keras_deprocess"], check=True)
        imports.append((time.perf_counter() - t) * 1e3)
    bare_python = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare_python.append((time.perf_counter() - t) * 1e3)
    rows.append(
        (
            "python -c 'import keras_deprocess' (ms)",
            statistics.median(imports),
            "python -c pass",
            statistics.median(bare_python),
        )
    )
    return rows


def tensorflow_section() -> list[tuple[str, float, str, float]]:
    import keras
    import tensorflow as tf

    from keras_deprocess.layers import Deprocess

    rows = []
    array = np.random.default_rng(3).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32)
    target = np.empty_like(array)
    copy_ms = median_ms(lambda: np.copyto(target, array))
    fused_numpy_ms = median_ms(
        lambda: restore_original_image_from_array(array, "VGG16", data_format="channels_last")
    )
    hand_ms = median_ms(lambda: hand_written(array, "caffe", "channels_last"))
    rows.append(
        ("NumPy N=64 caffe -> uint8, TF loaded, 16-byte aligned", fused_numpy_ms, "np.copyto", copy_ms)
    )
    buffer = np.empty(array.nbytes + 64, np.uint8)
    start = -buffer.ctypes.data % 64
    aligned = buffer[start : start + array.nbytes].view(np.float32).reshape(array.shape)
    aligned[...] = array
    aligned_ms = median_ms(
        lambda: restore_original_image_from_array(aligned, "VGG16", data_format="channels_last")
    )
    rows.append(
        ("NumPy N=64 caffe -> uint8, TF loaded, 64-byte aligned (fused)", aligned_ms, "np.copyto", copy_ms)
    )
    rows.append(
        ("NumPy N=64 caffe -> uint8, TF loaded, 64-byte aligned (fused)", aligned_ms, "hand-written", hand_ms)
    )
    x = tf.constant(array)
    offset = get_spec("caffe").inverse_affine().offset

    @tf.function(jit_compile=True)
    def fused_xla(t: Any) -> Any:
        t = tf.reverse(t, [3]) + tf.constant(offset, tf.float32)
        return tf.cast(tf.clip_by_value(tf.round(t), 0.0, 255.0), tf.uint8)

    fused_ms = median_ms(lambda: fused_xla(x).numpy())
    normalization = keras.layers.Normalization(mean=[0.0, 0.0, 0.0], variance=[1.0, 1.0, 1.0], invert=True)
    normalization_ms = median_ms(lambda: normalization(x).numpy())

    def ours() -> Any:
        return restore_original_image_from_array(x, "VGG16", data_format="channels_last")

    graph = tf.function(ours)
    xla = tf.function(ours, jit_compile=True)
    layer = Deprocess("VGG16", data_format="channels_last")
    layer_xla = tf.function(lambda t: layer(t), jit_compile=True)
    rows.append(
        (
            "TF eager, N=64 caffe -> uint8",
            median_ms(lambda: ours().numpy()),
            "Normalization(invert) eager",
            normalization_ms,
        )
    )
    rows.append(("TF eager, N=64 caffe -> uint8", median_ms(lambda: ours().numpy()), "fused XLA", fused_ms))
    rows.append(
        ("tf.function, N=64 caffe -> uint8", median_ms(lambda: graph().numpy()), "fused XLA", fused_ms)
    )
    rows.append(("function, jit_compile=True", median_ms(lambda: xla().numpy()), "fused XLA", fused_ms))
    rows.append(
        ("Deprocess layer, jit_compile=True", median_ms(lambda: layer_xla(x).numpy()), "fused XLA", fused_ms)
    )
    return rows


def torch_section() -> list[tuple[str, float, str, float]]:
    import torch

    rows = []
    x = torch.from_numpy(np.random.default_rng(4).uniform(-2.2, 2.7, (64, 3, 224, 224)).astype(np.float32))
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)

    def hand() -> Any:
        return ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8)

    ours = median_ms(lambda: restore_original_image_from_array(x, "imagenet"))
    rows.append(
        (
            f"torch CPU N=64 NCHW -> uint8 ({torch.get_num_threads()} threads)",
            ours,
            "hand-written",
            median_ms(hand),
        )
    )
    target = torch.empty_like(x)
    rows.append(("torch CPU N=64 NCHW -> uint8", ours, "Tensor.copy_", median_ms(lambda: target.copy_(x))))
    return rows


def jax_section() -> list[tuple[str, float, str, float]]:
    import jax
    import jax.numpy as jnp

    rows = []
    x = jnp.asarray(np.random.default_rng(5).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32))
    offset = jnp.asarray(get_spec("caffe").inverse_affine().offset, jnp.float32)
    hand = jax.jit(lambda t: jnp.clip(jnp.round(jnp.flip(t, -1) + offset), 0, 255).astype(jnp.uint8))
    ours = jax.jit(lambda t: restore_original_image_from_array(t, "VGG16", data_format="channels_last"))
    hand_ms = median_ms(lambda: hand(x).block_until_ready())
    rows.append(
        (
            "jax.jit, N=64 caffe -> uint8",
            median_ms(lambda: ours(x).block_until_ready()),
            "hand-written jnp",
            hand_ms,
        )
    )
    eager = median_ms(
        lambda: restore_original_image_from_array(x, "VGG16", data_format="channels_last").block_until_ready()
    )
    rows.append(("JAX eager (host engine), N=64 caffe -> uint8", eager, "hand-written jnp, jit", hand_ms))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the headline cases only")
    parser.add_argument("--no-tf", action="store_true", help="skip the TensorFlow section")
    args = parser.parse_args()
    print(f"NumPy {np.__version__}; {os.cpu_count()} CPUs; NumPy engine first: {numpy_engine()}")
    sections = [("NumPy", numpy_section(args.quick)), ("Overheads", overhead_section())]
    sections.append(("PyTorch", torch_section()))
    sections.append(("JAX", jax_section()))
    if not args.no_tf:
        sections.append(("TensorFlow (and NumPy once TensorFlow is imported)", tensorflow_section()))
        print(f"NumPy engine then: {numpy_engine()}")
    for title, rows in sections:
        print(f"\n## {title}\n")
        print("| case | ours | anchor | anchor's | ours / anchor |")
        print("|---|---:|---|---:|---:|")
        for case, ours, anchor, value in rows:
            print(f"| {case} | {ours:.2f} | {anchor} | {value:.2f} | {ours / value:.2f} |")


if __name__ == "__main__":
    main()
