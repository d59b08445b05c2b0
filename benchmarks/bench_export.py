"""Export at scale: `keras-deprocess restore` against the encoder's limit, the hand loop and Ray Data.

Every case runs on one batch of photo-like 224 x 224 images (crops of the
demo photo with a little noise, so that PNG compresses them as it does
photos), VGG16-preprocessed, in one run on one machine:

- the CLI, as a whole process (start-up included), writing one PNG each
  on every core (`--jobs`, default);
- Pillow encoding the already-restored uint8 images on as many threads:
  the encoder's limit, no reading and no restoring (these two alternate,
  three rounds, and their medians are compared);
- the usual hand-written loop: np.load, the caffe deprocess by hand
  (flip, add the means, clip, astype), Image.save, one image at a time;
- the CLI on the same batch saved as .pt, .safetensors, TFRecord and a
  webdataset .tar of one .npy per image, against the .npy; and reading
  alone (`keras_deprocess.datasets.iter_batches`) for each;
- the Ray Data pipeline (`read_arrays` → `RestoreBatches` →
  `write_restored`) in a local cluster, against the CLI on the same file.

The peak resident memory of each CLI run is its process's ``ru_maxrss``.
Run:

    python benchmarks/bench_export.py              # 1,024 images (about 3 minutes)
    python benchmarks/bench_export.py --images 256 # quicker
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from PIL import Image

from keras_deprocess import preprocess_input
from keras_deprocess.cli import load_demo_image
from keras_deprocess.cli.io.export import default_jobs

ROUNDS = 3
CAFFE_MEANS_BGR = np.array([103.939, 116.779, 123.68], np.float32)
PROBE = (
    "import resource, subprocess, sys, time;"
    "t = time.perf_counter(); code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode;"
    "s = time.perf_counter() - t;"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, s)"
)


def photo_like(count: int, seed: int = 0) -> np.ndarray:
    photo = np.asarray(Image.fromarray(load_demo_image()).resize((512, 512), Image.BICUBIC), np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((count, 224, 224, 3), np.uint8)
    for i in range(count):
        y, x = rng.integers(0, 512 - 224, 2)
        noisy = photo[y : y + 224, x : x + 224] + rng.normal(0, 3, (224, 224, 3))
        out[i] = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
    return out


def run_cli(folder: Path, *args: str) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of the CLI as its own process."""
    command = [sys.executable, "-c", PROBE, sys.executable, "-m", "keras_deprocess.cli", *args]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True)
    code, peak, seconds = result.stdout.split()
    if code != "0":
        raise SystemExit(f"keras-deprocess {' '.join(args)} failed: {result.stderr}")
    return float(seconds), int(peak) / (2**20 if sys.platform == "darwin" else 2**10)


def pillow_threads(images: np.ndarray, folder: Path, jobs: int) -> float:
    folder.mkdir()

    def encode(i: int) -> None:
        Image.fromarray(images[i]).save(folder / f"{i}.png")

    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(encode, range(len(images))))
    return time.perf_counter() - start


def hand_loop(path: Path, folder: Path) -> float:
    """What people write: np.load, deprocess by hand, PIL save, one image at a time."""
    folder.mkdir()
    start = time.perf_counter()
    batch = np.load(path)
    for i, x in enumerate(batch):
        x = x.copy()
        x += CAFFE_MEANS_BGR
        x = x[..., ::-1]
        Image.fromarray(np.clip(x, 0, 255).astype("uint8")).save(folder / f"{i}.png")
    return time.perf_counter() - start


def save_formats(batch: np.ndarray, folder: Path) -> dict[str, Path]:
    import torch
    from safetensors.numpy import save_file

    paths = {"npy": folder / "batch.npy"}
    np.save(paths["npy"], batch)
    paths["pt"] = folder / "batch.pt"
    torch.save({"images": torch.from_numpy(batch)}, paths["pt"])
    paths["safetensors"] = folder / "batch.safetensors"
    save_file({"images": batch}, str(paths["safetensors"]))
    paths["tar"] = folder / "batch.tar"
    with tarfile.open(paths["tar"], "w") as shard:
        for i, image in enumerate(batch):
            buffer = io.BytesIO()
            np.save(buffer, image)
            info = tarfile.TarInfo(f"{i:06d}.input.npy")
            info.size = buffer.tell()
            buffer.seek(0)
            shard.addfile(info, buffer)
    try:
        import tensorflow as tf
    except ImportError:
        return paths
    paths["tfrecord"] = folder / "batch.tfrecord"
    with tf.io.TFRecordWriter(str(paths["tfrecord"])) as writer:
        for image in batch:
            value = tf.io.serialize_tensor(tf.constant(image)).numpy()
            feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return paths


def reading_seconds(path: Path) -> float:
    """iter_batches over the file in its own process (imports included, as a user pays them)."""
    code = (
        "import sys, time; t = time.perf_counter();"
        "from keras_deprocess.datasets import iter_batches;"
        "n = sum(len(b.images) for b in iter_batches(sys.argv[1]));"
        "print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return float(result.stdout.split()[-1])


def ray_pipeline(path: Path, out: Path) -> float:
    code = (
        "import sys, time, ray; ray.init(num_cpus=os.cpu_count(), include_dashboard=False,"
        " log_to_driver=False, configure_logging=False);"
        "ray.data.DataContext.get_current().enable_progress_bars = False;"
        "from keras_deprocess.ray_data import RestoreBatches, read_arrays, write_restored;"
        "t = time.perf_counter(); r = RestoreBatches('VGG16');"
        "ds = read_arrays(sys.argv[1], images_per_task=64);"
        "ds = ds.map_batches(r, batch_format='numpy', batch_size=64);"
        "write_restored(ds, sys.argv[2], spec=r.spec.name); print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import os;" + code, str(path), str(out)], capture_output=True, text=True
    )
    if result.returncode:
        return float("nan")
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    jobs = default_jobs()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs ({jobs} usable), "
        f"Python {platform.python_version()}"
    )
    images = photo_like(args.images)
    batch = preprocess_input(images.astype(np.float32), "VGG16")
    rows: list[tuple[str, str, str]] = []
    memory: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = save_formats(batch, folder)
        n = len(images)
        # Warm the caches a first run fills (bytecode, numba's compiled kernels, the page cache).
        np.save(folder / "warm.npy", batch[:8])
        run_cli(folder, "restore", "warm.npy", "--model", "VGG16", "--out", "warm", "--quiet")
        for path in paths.values():
            path.read_bytes()

        # The headline pair alternates, three rounds, medians: a 2-core machine drifts by 5% between runs.
        cli_runs, pillow_runs = [], []
        for _ in range(ROUNDS):
            shutil.rmtree(folder / "cli", ignore_errors=True)
            shutil.rmtree(folder / "pillow", ignore_errors=True)
            cli_runs.append(
                run_cli(folder, "restore", "batch.npy", "--model", "VGG16", "--out", "cli", "--quiet")
            )
            pillow_runs.append(pillow_threads(images, folder / "pillow", jobs))
        cli_seconds = statistics.median(seconds for seconds, _ in cli_runs)
        cli_peak = max(peak for _, peak in cli_runs)
        pillow = statistics.median(pillow_runs)
        print(
            f"CLI runs {[round(s, 2) for s, _ in cli_runs]} s, "
            f"Pillow runs {[round(s, 2) for s in pillow_runs]} s"
        )
        memory.append(("npy", cli_peak, paths["npy"].stat().st_size))
        loop = hand_loop(paths["npy"], folder / "loop")
        rows.append(
            (
                f"CLI export, {n} PNGs from one .npy, whole process, {jobs} jobs",
                f"{n / cli_seconds:.0f} images/s against Pillow on {jobs} threads {n / pillow:.0f}: "
                f"{pillow / cli_seconds:.2f}x",
                ">= 0.9x",
            )
        )
        rows.append(
            (
                "CLI export against the hand-written loop (np.load, deprocess, PIL save)",
                f"{n / cli_seconds:.0f} against {n / loop:.0f} images/s: {loop / cli_seconds:.2f}x",
                f">= 1.8x on {jobs} cores",
            )
        )
        npy_read = reading_seconds(paths["npy"])
        for name in ("pt", "safetensors", "tfrecord", "tar"):
            if name not in paths:
                rows.append((f"reading {name}", "skipped: TensorFlow is not installed", "<= 1.15x"))
                continue
            seconds, peak = run_cli(
                folder, "restore", paths[name].name, "--model", "VGG16", "--out", f"cli-{name}", "--quiet"
            )
            memory.append((name, peak, paths[name].stat().st_size))
            read = reading_seconds(paths[name])
            rows.append(
                (
                    f"reading .{name} against .npy of the same batch",
                    f"export {seconds:.2f} s against {cli_seconds:.2f} s: {seconds / cli_seconds:.2f}x; "
                    f"reading alone {read:.2f} s against {npy_read:.2f} s: {read / npy_read:.2f}x",
                    "<= 1.15x",
                )
            )
        if not args.no_ray:
            ray_seconds = ray_pipeline(paths["npy"], folder / "ray")
            rows.append(
                (
                    "Ray Data pipeline (local cluster) against the CLI on the same file",
                    f"{ray_seconds:.2f} s against {cli_seconds:.2f} s: {ray_seconds / cli_seconds:.2f}x "
                    "(Ray's start-up excluded)",
                    "reported",
                )
            )
        shutil.rmtree(folder / "pillow", ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print()
    for case, result, goal in rows:
        print(f"{case:<{width}}  {result}  (goal {goal})")
    print("\npeak resident memory of each export (whole process):")
    for name, peak, size in memory:
        print(f"  .{name:<12} {peak:6.0f} MiB  (file {size / 2**20:.0f} MiB)")
    print(json.dumps({"rows": rows, "memory": memory}))


if __name__ == "__main__":
    main()
