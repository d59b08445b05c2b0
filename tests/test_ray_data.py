"""RestoreBatches: exact images from a column of preprocessed tensors, alone and in a local Ray cluster."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_deprocess import DeprocessError, out_of_gamut, preprocess_input
from keras_deprocess.cli import load_demo_image
from keras_deprocess.ray_data import RestoreBatches

PHOTO = np.stack([load_demo_image(), load_demo_image()[::-1], load_demo_image()[:, ::-1]])  # (3, 128, 128, 3)
CL, CF = "channels_last", "channels_first"


def forward(images: np.ndarray, spec: str, data_format: str = CL) -> np.ndarray:
    if data_format == CF:
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    return preprocess_input(images.astype(np.float32), spec, data_format=data_format)


class TestRestoreBatches:
    @pytest.mark.parametrize("spec", ["ResNet50", "torch", "clip", "half", "unit", "colorization"])
    @pytest.mark.parametrize("data_format", [CL, CF])
    def test_exact_images_channels_last(self, spec, data_format):
        batch = {"data": forward(PHOTO, spec, data_format), "path": np.array(["a", "b", "c"])}
        kept = {key: value.copy() for key, value in batch.items()}
        out = RestoreBatches(spec, data_format=data_format)(batch)
        assert out["data"].dtype == np.uint8
        np.testing.assert_array_equal(out["data"], PHOTO)
        assert out["path"].tolist() == ["a", "b", "c"]  # the other columns pass through
        assert out["clipped"].tolist() == [0, 0, 0]
        assert out["mismatch"].tolist() == ["", "", ""]
        for key, value in kept.items():  # the caller's batch is untouched
            np.testing.assert_array_equal(batch[key], value)

    def test_clipped_pixels_are_counted_per_row(self):
        data = forward(PHOTO, "caffe")
        data[1, :10, :10] = 1000.0  # 100 pixels of the second image restore far above 255
        out = RestoreBatches("VGG16")(data_batch := {"data": data})
        assert out["clipped"].tolist() == [0, 100, 0]
        assert out["clipped"].sum() == out_of_gamut(data_batch["data"], "VGG16", data_format=CL).count

    def test_a_contradiction_is_a_column(self):
        out = RestoreBatches("ResNet50")({"data": forward(PHOTO, "torch")})
        assert out["mismatch"].tolist() == ["whole-elsewhere"] * 3
        quiet = RestoreBatches("ResNet50", check=False)({"data": forward(PHOTO, "torch")})
        assert quiet["mismatch"].tolist() == ["", "", ""]

    def test_output_column(self):
        out = RestoreBatches(mode="torch", column="x", output_column="image")({"x": forward(PHOTO, "torch")})
        np.testing.assert_array_equal(out["image"], PHOTO)
        assert out["x"].dtype == np.float32

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({}, "exactly one of `model` and `mode`"),
            ({"model": "VGG16", "mode": "caffe"}, "exactly one of `model` and `mode`"),
            ({"model": "VGG61"}, "Unknown model or mode 'VGG61'"),
            ({"model": "VGG16", "data_format": "NCHW"}, "Expected `data_format`"),
        ],
    )
    def test_errors_at_construction(self, kwargs, match):
        with pytest.raises(DeprocessError, match=match):
            RestoreBatches(**kwargs)

    def test_a_missing_column_names_what_the_batch_holds(self):
        with pytest.raises(DeprocessError, match=r"column 'data'.*\['image', 'label'\].*column="):
            RestoreBatches("VGG16")({"image": forward(PHOTO, "caffe"), "label": np.arange(3)})


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster on this machine's two cores, as the docs point one at a cluster address."""
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.data")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    yield ray
    ray.shutdown()


class TestInALocalRayCluster:
    def test_read_numpy_map_batches_exact(self, ray_cluster, tmp_path):
        for index in range(3):
            np.save(tmp_path / f"shard_{index}.npy", forward(PHOTO, "ResNet50"))
        ds = ray_cluster.data.read_numpy(str(tmp_path))
        restored = ds.map_batches(RestoreBatches("ResNet50"), batch_format="numpy", batch_size=4)
        rows = restored.take_all()
        assert len(rows) == 9
        images = np.stack([row["data"] for row in rows])
        assert images.dtype == np.uint8
        # Ray keeps no order across shards here; every image is one of the photos, each three times.
        for photo in PHOTO:
            assert sum(bool((image == photo).all()) for image in images) == 3
        assert {row["mismatch"] for row in rows} == {""}
        assert sum(row["clipped"] for row in rows) == 0

    def test_write_images_gives_the_originals(self, ray_cluster, tmp_path):
        np.save(tmp_path / "batch.npy", forward(PHOTO, "torch", CF))
        ds = ray_cluster.data.read_numpy(str(tmp_path / "batch.npy"))
        ds = ds.map_batches(RestoreBatches("torch", data_format=CF), batch_format="numpy")
        ds.write_images(str(tmp_path / "out"), column="data", file_format="png")
        written = sorted((tmp_path / "out").glob("*.png"))
        assert len(written) == 3
        decoded = [np.asarray(Image.open(path)) for path in written]
        for photo in PHOTO:
            assert sum(bool((image == photo).all()) for image in decoded) == 1

    def test_the_same_files_and_manifest_as_the_cli(self, ray_cluster, tmp_path, monkeypatch):
        """read_arrays → RestoreBatches → write_restored writes what `restore --manifest` writes."""
        torch = pytest.importorskip("torch")
        from keras_deprocess.cli import main
        from keras_deprocess.ray_data import read_arrays, write_restored

        (tmp_path / "in").mkdir()
        np.save(tmp_path / "in" / "a.npy", forward(PHOTO, "ResNet50"))
        drifting = forward(PHOTO[:2], "ResNet50")
        drifting[1, :5, :5] += 300.0  # 25 clipped pixels in one image
        torch.save({"images": torch.from_numpy(drifting)}, tmp_path / "in" / "b.pt")
        monkeypatch.chdir(tmp_path)
        assert main(["restore", "in", "--model", "ResNet50", "--manifest", "--out", "cli", "--quiet"]) == 0
        restore = RestoreBatches("ResNet50")
        ds = read_arrays("in", images_per_task=2).map_batches(restore, batch_format="numpy", batch_size=8)
        assert write_restored(ds, "ray", spec=restore.spec.name) == 5
        cli_files = {p.name: p.read_bytes() for p in (tmp_path / "cli").iterdir()}
        ray_files = {p.name: p.read_bytes() for p in (tmp_path / "ray").iterdir()}
        assert sorted(cli_files) == sorted(ray_files)
        assert cli_files == ray_files  # the images byte for byte, and the manifest line for line
        lines = (tmp_path / "ray" / "manifest.jsonl").read_text().splitlines()
        assert [line.count('"clipped": 25') for line in lines] == [0, 0, 0, 0, 1]
        with pytest.raises(DeprocessError, match=r"holds files\. Pick another folder, or pass force=True"):
            write_restored(ds, "ray", spec=restore.spec.name)
        assert write_restored(ds, "ray", spec=restore.spec.name, force=True) == 5
        assert {p.name: p.read_bytes() for p in (tmp_path / "ray").iterdir()} == cli_files
