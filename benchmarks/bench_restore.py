"""Speed of restore_original_image_from_array against its anchors, as ratios from one run.

Anchors:
- `np.copyto` of the input into a preallocated array: the memory-bandwidth yardstick;
- the usual hand-written deprocess: copy, three in-place adds, a reversed view, clip, astype;
- a broadcast hand-written deprocess: one multiply-add, rint, clip, astype;
- hand-written PyTorch (eager) and JAX (`jit`) forms of the same math, in float32;
- keras `Normalization(invert=True)` (eager) and a hand-fused XLA kernel (TensorFlow);
- `skimage.color.lab2rgb` + rint + clip + cast, and a hand-fused Lab → sRGB XLA kernel, for Lab.

Every figure is the median of repeated calls after warm-up, in milliseconds.
Each row's goal is the issue's. Run:

    python benchmarks/bench_restore.py            # everything (about 3 minutes)
    python benchmarks/bench_restore.py --quick    # the headline cases
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from keras_deprocess import preprocess_input, restore_original_image_from_array
from keras_deprocess.engines import THRESHOLDS, describe_host_engine, numba

Row = tuple[str, float, str, float, str]  # case, ours (ms), anchor, anchor (ms), goal
CAFFE_OFFSET = np.array([123.68, 116.779, 103.939], np.float32)  # RGB order, as added after the flip


def median_ms(fn: Callable[[], Any], min_time: float = 0.5, max_repeats: int = 200) -> float:
    for _ in range(2):
        fn()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 7 or (time.perf_counter() - started < min_time and len(times) < max_repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def paired_ms(ours: Callable[[], Any], anchor: Callable[[], Any], rounds: int = 31) -> tuple[float, float]:
    """Both medians from alternating calls, so that a noisy machine's drift hits both alike."""
    for fn in (ours, anchor, ours, anchor):
        fn()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, into in ((ours, times[0]), (anchor, times[1])):
            t = time.perf_counter()
            fn()
            into.append(time.perf_counter() - t)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3


HAND = "hand-written (copy, adds, flip, clip)"


def hand_written(x: np.ndarray) -> np.ndarray:
    """The usual deprocess: copy, three in-place adds, a reversed view, clip, astype (which truncates)."""
    x = x.copy()
    x[..., 0] += 103.939
    x[..., 1] += 116.779
    x[..., 2] += 123.68
    x = x[..., ::-1]
    return np.clip(x, 0, 255).astype("uint8")


def broadcast(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x[..., ::-1] + CAFFE_OFFSET), 0, 255).astype(np.uint8)


def aligned(array: np.ndarray) -> np.ndarray:
    buffer = np.empty(array.nbytes + 64, np.uint8)
    start = -buffer.ctypes.data % 64
    out = buffer[start : start + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


class engine:
    """Routes NumPy arrays to one host engine while the block runs (the router's one table, patched)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.saved = dict(THRESHOLDS)
        THRESHOLDS["numba"] = 0 if self.name == "numba" else 1 << 62
        THRESHOLDS["compiled"] = 0 if self.name == "xla" else 1 << 62

    def __exit__(self, *_: Any) -> None:
        THRESHOLDS.update(self.saved)


def peak_extra_mib(fn: Callable[[], np.ndarray]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (peak - result.nbytes) / (1 << 20)


def numpy_section(quick: bool) -> list[Row]:
    rows: list[Row] = []
    x = np.random.default_rng(0).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32)
    target = np.empty_like(x)

    def copy() -> None:
        np.copyto(target, x)

    def ours(array: np.ndarray = x, **kwargs: Any) -> Any:
        return lambda: restore_original_image_from_array(
            array, "VGG16", data_format="channels_last", **kwargs
        )

    fast = numba.available()
    with engine("numba" if fast else "blocked"):
        headline, copy_ms = paired_ms(ours(), copy)
        hand = median_ms(lambda: hand_written(x))
        name = "with `fast` (numba)" if fast else "`fast` absent"
        rows.append((f"NumPy N=64 caffe -> uint8, {name}", headline, "np.copyto", copy_ms, "<= 1.0 (fast)"))
        rows.append((f"NumPy N=64 caffe -> uint8, {name}", headline, HAND, hand, "<= 0.25"))
        as_float, float_copy_ms = paired_ms(ours(dtype="float32"), copy)
        rows.append(("NumPy N=64 caffe -> float32", as_float, "np.copyto", float_copy_ms, "<= 1.2"))
        # An allocating function pays for its output's pages, as x.copy() does and copyto does not.
        as_float, allocating_copy_ms = paired_ms(ours(dtype="float32"), x.copy)
        rows.append(("NumPy N=64 caffe -> float32", as_float, "x.copy()", allocating_copy_ms, ""))
        extra = peak_extra_mib(ours())
        rows.append(("peak extra memory, N=64 -> uint8 (MiB)", extra, "1 MiB", 1.0, "<= 1 (+ output)"))
        # The spec check (SpecMismatchWarning) on every eager call, against the same call without it.
        checked, unchecked = paired_ms(ours(), ours(check=False), rounds=61)
        rows.append(
            ("NumPy N=64 caffe -> uint8, spec check on", checked, "check=False", unchecked, "<= 1.05")
        )
    with engine("blocked"):
        blocked, blocked_copy_ms = paired_ms(ours(), copy, rounds=15)
        rows.append(
            (
                "NumPy N=64 caffe -> uint8, `fast` absent (blocked)",
                blocked,
                "np.copyto",
                blocked_copy_ms,
                "<= 2.0",
            )
        )
        rows.append(("NumPy N=64 caffe -> uint8, `fast` absent (blocked)", blocked, HAND, hand, "<= 0.25"))
        extra = peak_extra_mib(ours())
        rows.append(("peak extra memory, blocked (MiB)", extra, "1 MiB", 1.0, "<= 1 (+ output)"))
    if not quick:
        with engine("numba" if fast else "blocked"):
            rows.append(
                (
                    "NumPy caffe -> uint8, broadcast hand-written",
                    headline,
                    "broadcast",
                    median_ms(lambda: broadcast(x)),
                    "",
                )
            )
            nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
            rows.append(
                (
                    "NumPy N=64 caffe -> uint8, channels_first",
                    median_ms(
                        lambda: restore_original_image_from_array(nchw, "VGG16", data_format="channels_first")
                    ),
                    "np.copyto",
                    copy_ms,
                    "",
                )
            )
            torch_mode = median_ms(
                lambda: restore_original_image_from_array(x, "DenseNet121", data_format="channels_last")
            )
            rows.append(("NumPy N=64 torch mode -> uint8", torch_mode, "np.copyto", copy_ms, ""))
        # One image, routed as by default: below THRESHOLDS["numba"], the blocked engine.
        one = x[0]
        bare = median_ms(lambda: np.clip(np.rint(one[..., ::-1] + CAFFE_OFFSET), 0, 255).astype(np.uint8))
        rows.append(
            ("one 224x224x3 image, caffe -> uint8", median_ms(ours(one)), "bare NumPy math", bare, "<= 2")
        )
    return rows


def first_call_section() -> list[Row]:
    """A fresh process: import, then the first restore of the headline batch (numba cache cold and warm)."""
    code = (
        "import time, numpy as np; t = time.perf_counter(); import keras_deprocess as kd; "
        "x = np.zeros((64, 224, 224, 3), np.float32); "
        "kd.restore_original_image_from_array(x, 'VGG16', data_format='channels_last'); "
        "print((time.perf_counter() - t) * 1e3)"
    )

    def fresh(env: dict[str, str]) -> float:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}
        )
        return float(out.stdout.strip().splitlines()[-1])

    rows: list[Row] = []
    imports = statistics.median(
        time_process([sys.executable, "-c", "import keras_deprocess"]) for _ in range(5)
    )
    bare = statistics.median(time_process([sys.executable, "-c", "pass"]) for _ in range(5))
    rows.append(("python -c 'import keras_deprocess'", imports, "python -c pass", bare, "<= 300 ms"))
    if numba.available():
        cache = tempfile.mkdtemp(prefix="numba-cache-")
        cold = fresh({"NUMBA_CACHE_DIR": cache})
        warm = statistics.median(fresh({"NUMBA_CACHE_DIR": cache}) for _ in range(3))
        rows.append(
            ("first restore in a fresh process, numba cache warm", warm, "cache cold (compiles)", cold, "")
        )
    return rows


def time_process(command: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(command, check=True)
    return (time.perf_counter() - t) * 1e3


def torch_section() -> list[Row]:
    import torch

    x = torch.from_numpy(np.random.default_rng(4).uniform(-2.2, 2.7, (64, 3, 224, 224)).astype(np.float32))
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    hand = median_ms(lambda: ((x * std + mean) * 255).round().clamp(0, 255).to(torch.uint8))
    ours = median_ms(lambda: restore_original_image_from_array(x, "imagenet"))
    target = torch.empty_like(x)
    threads = torch.get_num_threads()
    return [
        (
            f"torch CPU N=64 NCHW -> uint8 (torch: {threads} threads)",
            ours,
            "hand-written eager",
            hand,
            "<= 0.67",
        ),
        ("torch CPU N=64 NCHW -> uint8", ours, "Tensor.copy_", median_ms(lambda: target.copy_(x)), ""),
    ]


def jax_section() -> list[Row]:
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(np.random.default_rng(5).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32))
    offset = jnp.asarray(CAFFE_OFFSET)
    hand = jax.jit(lambda t: jnp.clip(jnp.round(jnp.flip(t, -1) + offset), 0, 255).astype(jnp.uint8))
    ours = jax.jit(lambda t: restore_original_image_from_array(t, "VGG16", data_format="channels_last"))
    hand_ms = median_ms(lambda: hand(x).block_until_ready())
    eager = median_ms(
        lambda: restore_original_image_from_array(x, "VGG16", data_format="channels_last").block_until_ready()
    )
    return [
        (
            "jax.jit, N=64 caffe -> uint8",
            median_ms(lambda: ours(x).block_until_ready()),
            "hand-written jnp, jit",
            hand_ms,
            "<= 1.2",
        ),
        ("JAX eager (host engine), N=64 caffe -> uint8", eager, "hand-written jnp, jit", hand_ms, ""),
    ]


def tensorflow_section() -> list[Row]:
    import keras
    import tensorflow as tf

    from keras_deprocess import Deprocess

    array = np.random.default_rng(3).uniform(-120, 150, (64, 224, 224, 3)).astype(np.float32)
    x = tf.constant(array)

    @tf.function(jit_compile=True)
    def fused(t: Any) -> Any:
        return tf.cast(tf.clip_by_value(tf.round(tf.reverse(t, [3]) + CAFFE_OFFSET), 0.0, 255.0), tf.uint8)

    fused_ms = median_ms(lambda: fused(x).numpy())
    normalization = keras.layers.Normalization(mean=[0.0, 0.0, 0.0], variance=[1.0, 1.0, 1.0], invert=True)

    def ours() -> Any:
        return restore_original_image_from_array(x, "VGG16", data_format="channels_last")

    xla = tf.function(ours, jit_compile=True)
    layer = Deprocess("VGG16", data_format="channels_last")
    layer_xla = tf.function(lambda t: layer(t), jit_compile=True)
    eager = median_ms(lambda: ours().numpy())
    with engine("xla"):
        dlpack = median_ms(
            lambda: restore_original_image_from_array(aligned(array), "VGG16", data_format="channels_last")
        )
    target = np.empty_like(array)
    return [
        (
            "TF eager, N=64 caffe -> uint8",
            eager,
            "Normalization(invert) eager",
            median_ms(lambda: normalization(x).numpy()),
            "<= 0.2",
        ),
        (
            "function, jit_compile=True",
            median_ms(lambda: xla().numpy()),
            "hand-fused XLA",
            fused_ms,
            "<= 1.2",
        ),
        (
            "Deprocess layer, jit_compile=True",
            median_ms(lambda: layer_xla(x).numpy()),
            "hand-fused XLA",
            fused_ms,
            "<= 1.2",
        ),
        (
            "NumPy via DLPack, fused XLA (aligned)",
            dlpack,
            "np.copyto",
            median_ms(lambda: np.copyto(target, array)),
            "",
        ),
    ]


def lab_section() -> list[Row]:
    import tensorflow as tf

    images = np.random.default_rng(6).integers(0, 256, (64, 256, 256, 3), dtype=np.uint8)
    lab = preprocess_input(images, "lab", data_format="channels_last")  # float32
    rows: list[Row] = []
    try:
        from skimage.color import lab2rgb

        def skimage_restore() -> np.ndarray:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.clip(np.rint(lab2rgb(lab) * 255), 0, 255).astype(np.uint8)

        skimage_ms = median_ms(skimage_restore, min_time=0.1)
        ours = median_ms(
            lambda: restore_original_image_from_array(lab, "lab", data_format="channels_last"), min_time=0.1
        )
        rows.append(
            ("Lab N=64 256x256 -> uint8, NumPy", ours, "skimage lab2rgb + rint", skimage_ms, "<= 0.33")
        )
        with engine("blocked"):
            blocked = median_ms(
                lambda: restore_original_image_from_array(lab, "lab", data_format="channels_last"),
                min_time=0.1,
            )
        rows.append(
            (
                "Lab N=64 256x256 -> uint8, `fast` absent (blocked)",
                blocked,
                "skimage lab2rgb + rint",
                skimage_ms,
                "",
            )
        )
    except ImportError:
        pass
    matrix = tf.constant(
        np.linalg.inv(
            np.array(
                [
                    [0.412453, 0.357580, 0.180423],
                    [0.212671, 0.715160, 0.072169],
                    [0.019334, 0.119193, 0.950227],
                ]
            )
        ).T,
        tf.float32,
    )
    white = tf.constant([0.95047, 1.0, 1.08883], tf.float32)

    @tf.function(jit_compile=True)
    def hand_lab(t: Any) -> Any:
        fy = (t[..., :1] + 16.0) / 116.0
        f = tf.concat([t[..., 1:2] / 500.0 + fy, fy, tf.maximum(fy - t[..., 2:] / 200.0, 0.0)], -1)
        xyz = tf.where(f > 0.2068966, f * f * f, (f - 16.0 / 116.0) / 7.787) * white
        linear = tf.tensordot(xyz, matrix, 1)
        srgb = tf.where(
            linear > 0.0031308, 1.055 * tf.pow(tf.maximum(linear, 1e-12), 1 / 2.4) - 0.055, 12.92 * linear
        )
        return tf.cast(tf.clip_by_value(tf.round(srgb * 255.0), 0.0, 255.0), tf.uint8)

    x = tf.constant(lab)
    ours_xla = tf.function(
        lambda t: restore_original_image_from_array(t, "lab", data_format="channels_last"), jit_compile=True
    )
    rows.append(
        (
            "Lab N=64 -> uint8, TF under XLA",
            median_ms(lambda: ours_xla(x).numpy()),
            "hand-fused XLA (float32)",
            median_ms(lambda: hand_lab(x).numpy()),
            "<= 1.2",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="the headline cases only")
    args = parser.parse_args()
    machine = f"{platform.processor() or platform.machine()}, {numba.cpus()} CPUs"
    versions = f"Python {platform.python_version()}, NumPy {np.__version__}"
    print(f"{machine}; {versions}; engine: {describe_host_engine()}")
    sections = [("NumPy", numpy_section(args.quick)), ("Start-up", first_call_section())]
    sections += [("PyTorch", torch_section()), ("JAX", jax_section()), ("TensorFlow", tensorflow_section())]
    if not args.quick:
        sections.append(("CIE Lab", lab_section()))
    for title, rows in sections:
        print(f"\n## {title}\n")
        print("| case | ours (ms) | anchor | anchor (ms) | ours / anchor | goal |")
        print("|---|---:|---|---:|---:|---|")
        for case, ours, anchor, value, goal in rows:
            print(f"| {case} | {ours:.2f} | {anchor} | {value:.2f} | {ours / value:.2f} | {goal} |")


if __name__ == "__main__":
    main()
