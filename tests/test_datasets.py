"""Every format batches are saved in: .pt/.pth, .safetensors, TFRecord, webdataset .tar, folders, globs.

Each reader is checked against the files its own writers write (torch.save,
the safetensors package, tf.io.TFRecordWriter, tarfile as webdataset's
TarWriter lays shards out): the arrays read back equal, the CLI restores
the originals exactly, and hostile files give one `InputFileError` each.
"""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image
from test_cli import cli, images

from keras_deprocess import preprocess_input
from keras_deprocess.datasets import InputFileError, iter_batches, open_arrays

torch = pytest.importorskip("torch")


def originals(n=4):
    return images(n)


def preprocessed(n=4, model="VGG16"):
    return preprocess_input(originals(n).astype(np.float32), model)


def restored_equal(folder, names, expected):
    for name, original in zip(names, expected, strict=True):
        with Image.open(folder / name) as picture:
            np.testing.assert_array_equal(np.asarray(picture), original)


def read_all(path, **options):
    out: dict[str, list[np.ndarray]] = {}
    for batch in iter_batches(path, **options):
        out.setdefault(batch.key, []).append(batch.images)
    return {key: np.concatenate(parts) for key, parts in out.items()}


def save_tfrecord(path, batch, feature="image", serialized=False, shape_name=None):
    tf = pytest.importorskip("tensorflow")
    with tf.io.TFRecordWriter(str(path)) as writer:
        for image in batch:
            if serialized:
                value = tf.io.serialize_tensor(tf.constant(image)).numpy()
                features = {feature: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))}
            else:
                features = {
                    feature: tf.train.Feature(float_list=tf.train.FloatList(value=image.reshape(-1))),
                    shape_name or f"{feature}/shape": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=list(image.shape))
                    ),
                }
            features["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())


def add_member(archive, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def pt_bytes(value):
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def save_shard(path, batch, suffix=".npy"):
    """A webdataset shard: per sample, its image and a label, as webdataset's TarWriter writes them."""
    with tarfile.open(path, "w") as archive:
        for i, image in enumerate(batch):
            data = npy_bytes(image) if suffix == ".npy" else pt_bytes(torch.from_numpy(image.copy()))
            add_member(archive, f"{i:06d}.input{suffix}", data)
            add_member(archive, f"{i:06d}.cls", b"3")


class TestTorchFiles:
    def test_a_dict_list_and_tensor_read_back_equal(self, tmp_path):
        batch = preprocessed(3)
        torch.save({"images": torch.from_numpy(batch), "epoch": 3}, tmp_path / "dict.pt")
        torch.save([torch.from_numpy(batch), torch.from_numpy(batch[:1])], tmp_path / "list.pth")
        torch.save(torch.from_numpy(batch), tmp_path / "alone.pt")
        np.testing.assert_array_equal(read_all(tmp_path / "dict.pt")["images"], batch)
        both = read_all(tmp_path / "list.pth")
        np.testing.assert_array_equal(both["0"], batch)
        np.testing.assert_array_equal(both["1"], batch[:1])
        np.testing.assert_array_equal(read_all(tmp_path / "alone.pt")["alone"], batch)

    def test_views_offsets_and_half_precision(self, tmp_path):
        batch = preprocessed(4)
        whole = torch.from_numpy(batch)
        # A slice of a larger storage is saved with its storage: the offset must be honoured.
        torch.save({"tail": whole[2:], "half": whole.half(), "nested": {"x": whole[:1]}}, tmp_path / "v.pt")
        read = read_all(tmp_path / "v.pt")
        np.testing.assert_array_equal(read["tail"], batch[2:])
        np.testing.assert_array_equal(read["half"], batch.astype(np.float16))
        np.testing.assert_array_equal(read["nested.x"], batch[:1])

    def test_the_cli_restores_a_channels_first_pt_exactly(self, tmp_path, capsys):
        batch = preprocess_input(originals(3).astype(np.float32), "torch")
        torch.save({"pixels": torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()}, tmp_path / "b.pt")
        result = cli(
            "restore", "b.pt", "--model", "imagenet", "--data-format", "channels_first", "--out", "out",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        restored_equal(tmp_path / "out", [f"pixels_{i}.png" for i in range(3)], originals(3))

    def test_pickled_objects_are_refused_and_never_run(self, tmp_path, capsys):
        import pickle

        marker = tmp_path / "ran"

        class Payload:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        torch.save(
            {"images": torch.zeros(1, 4, 4, 3), "evil": Payload()}, tmp_path / "evil.pt", pickle_module=pickle
        )
        result = cli("restore", "evil.pt", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert "weights_only=True" in result.stderr
        assert not marker.exists()

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (lambda: {"images": torch.zeros(2, 4, 4, 3, dtype=torch.bfloat16)}, "bfloat16"),
            (lambda: {"images": torch.zeros(2, 4, 4, 3).transpose(1, 2)}, "contiguous"),
            (lambda: {"images": torch.zeros(2, 4, 4, 3), "labels": torch.arange(2)}, "pass --key"),
            (lambda: {"epoch": 3}, "holds no tensors"),
        ],
    )
    def test_what_cannot_be_read_says_why_and_what_to_do(self, tmp_path, capsys, value, expected):
        torch.save(value(), tmp_path / "bad.pt")
        result = cli("restore", "bad.pt", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert expected in result.stderr
        assert result.stderr.count("\n") == 1

    def test_key_takes_one_tensor(self, tmp_path, capsys):
        batch = preprocessed(2)
        torch.save({"images": torch.from_numpy(batch), "labels": torch.arange(2)}, tmp_path / "b.pt")
        result = cli("restore", "b.pt", "--model", "VGG16", "--key", "images", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        restored_equal(tmp_path / "b_restored", ["images_0.png", "images_1.png"], originals(2))
        result = cli("restore", "b.pt", "--model", "VGG16", "--key", "nope", cwd=tmp_path, capsys=capsys)
        assert "has no tensor named 'nope' for --key; it holds 2: 'images', 'labels'" in result.stderr


class TestSafetensorsFiles:
    def test_read_back_equal_and_restored_exactly(self, tmp_path, capsys):
        safetensors = pytest.importorskip("safetensors.numpy")
        batch = preprocessed(3)
        safetensors.save_file({"b": batch[:1], "a": batch}, str(tmp_path / "x.safetensors"))
        read = read_all(tmp_path / "x.safetensors")
        np.testing.assert_array_equal(read["a"], batch)
        np.testing.assert_array_equal(read["b"], batch[:1])
        result = cli(
            "restore", "x.safetensors", "--model", "VGG16", "--key", "a", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        restored_equal(tmp_path / "x_restored", [f"a_{i}.png" for i in range(3)], originals(3))

    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            (b"\xff" * 8, "headers over 16 MiB are refused"),
            ((1000).to_bytes(8, "little"), "its header declares 1000 bytes"),
            (b"\x05\x00\x00\x00\x00\x00\x00\x00[1,2]", "not a JSON object"),
            (
                b'{"x":{"dtype":"F32","shape":[1,4,4,3],"data_offsets":[0,999999]}}',
                "outside the file",
            ),
            (b'{"x":{"dtype":"F32","shape":[1,4,4,3],"data_offsets":[0,4]}}', "needs 192 bytes"),
            (b'{"x":{"dtype":"BF16","shape":[1,4,4,3],"data_offsets":[0,96]}}', "bfloat16"),
        ],
    )
    def test_hostile_headers_are_refused(self, tmp_path, header, expected):
        if not header.startswith((b"\xff", (1000).to_bytes(8, "little"), b"\x05")):
            header = len(header).to_bytes(8, "little") + header
        (tmp_path / "h.safetensors").write_bytes(header + bytes(200))
        with pytest.raises(InputFileError, match=expected):
            open_arrays(tmp_path / "h.safetensors")


class TestTFRecordFiles:
    @pytest.mark.parametrize("serialized", [False, True])
    def test_float_and_serialized_features_read_back_equal(self, tmp_path, serialized):
        batch = preprocessed(3)
        save_tfrecord(tmp_path / "train.tfrecord", batch, serialized=serialized)
        np.testing.assert_array_equal(read_all(tmp_path / "train.tfrecord")["train"], batch)

    def test_the_cli_restores_exactly_and_feature_chooses(self, tmp_path, capsys):
        batch = preprocessed(3, "ResNet50V2")
        save_tfrecord(tmp_path / "data.tfrecord", batch, feature="pixels", shape_name="shape")
        result = cli(
            "restore", "data.tfrecord", "--model", "tf", "--feature", "pixels", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        restored_equal(tmp_path / "data_restored", [f"data_{i}.png" for i in range(3)], originals(3))
        result = cli("restore", "data.tfrecord", "--feature", "nope", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert (
            "has no feature 'nope' for --feature; record 0 holds 'label', 'pixels', 'shape'" in result.stderr
        )

    def test_records_of_another_shape_and_cut_files_are_refused(self, tmp_path, capsys):
        batch = preprocessed(2)
        save_tfrecord(tmp_path / "a.tfrecord", batch)
        save_tfrecord(tmp_path / "b.tfrecord", batch[:, :2])
        joined = (tmp_path / "a.tfrecord").read_bytes() + (tmp_path / "b.tfrecord").read_bytes()
        (tmp_path / "mixed.tfrecord").write_bytes(joined)
        result = cli("restore", "mixed.tfrecord", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert "record 2" in result.stderr
        assert "every record must match it" in result.stderr
        assert not (tmp_path / "mixed_restored").exists()
        (tmp_path / "cut.tfrecord").write_bytes(joined[:-50])
        with pytest.raises(InputFileError, match="record 3 declares"):
            open_arrays(tmp_path / "cut.tfrecord")
        (tmp_path / "huge.tfrecord").write_bytes((1 << 62).to_bytes(8, "little") + bytes(20))
        with pytest.raises(InputFileError, match="truncated, or not a TFRecord file"):
            open_arrays(tmp_path / "huge.tfrecord")

    def test_a_record_without_a_channel_axis_is_refused(self, tmp_path):
        save_tfrecord(tmp_path / "gray.tfrecord", preprocessed(2)[..., 0])
        with pytest.raises(InputFileError, match=r"expected one image \(H, W, C\) or a batch"):
            open_arrays(tmp_path / "gray.tfrecord")

    def test_feature_is_refused_for_other_formats(self, tmp_path):
        np.save(tmp_path / "b.npy", preprocessed(1))
        with pytest.raises(InputFileError, match="feature chooses a feature of TFRecord files"):
            open_arrays(tmp_path / "b.npy", feature="image")


class TestTarShards:
    @pytest.mark.parametrize("suffix", [".npy", ".pt"])
    def test_members_stream_and_restore_exactly(self, tmp_path, capsys, suffix):
        batch = preprocessed(3)
        save_shard(tmp_path / "shard-000.tar", batch, suffix)
        read = read_all(tmp_path / "shard-000.tar")
        assert sorted(read) == ["000000.input", "000001.input", "000002.input"]
        for i in range(3):
            np.testing.assert_array_equal(read[f"00000{i}.input"][0], batch[i])
        result = cli(
            "restore", "shard-000.tar", "--model", "VGG16", "--manifest", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        names = [f"00000{i}.input.png" for i in range(3)]
        restored_equal(tmp_path / "shard-000_restored", names, originals(3))
        lines = (tmp_path / "shard-000_restored" / "manifest.jsonl").read_text().splitlines()
        assert [json.loads(line)["key"] for line in lines] == ["000000.input", "000001.input", "000002.input"]

    def test_a_compressed_or_damaged_shard_is_refused(self, tmp_path):
        (tmp_path / "gz.tar").write_bytes(b"\x1f\x8b" + bytes(600))
        with pytest.raises(InputFileError):
            open_arrays(tmp_path / "gz.tar")
        save_shard(tmp_path / "ok.tar", preprocessed(2))
        data = (tmp_path / "ok.tar").read_bytes()
        (tmp_path / "cut.tar").write_bytes(data[:700])
        with pytest.raises(InputFileError):
            read_all(tmp_path / "cut.tar")


class TestFoldersAndGlobs:
    def test_every_file_in_sorted_order_keyed_by_stem(self, tmp_path, capsys):
        batch = preprocessed(4)
        (tmp_path / "in").mkdir()
        np.save(tmp_path / "in" / "a.npy", batch[:2])
        torch.save({"images": torch.from_numpy(batch[2:])}, tmp_path / "in" / "b.pt")
        (tmp_path / "in" / "notes.txt").write_text("skipped")
        read = read_all(tmp_path / "in")
        assert list(read) == ["a", "images"]
        batches = list(iter_batches(tmp_path / "in"))
        assert [b.source.endswith(name) for b, name in zip(batches, ("a.npy", "b.pt"), strict=True)] == [
            True,
            True,
        ]
        result = cli("restore", "in", "--model", "VGG16", "--manifest", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        out = tmp_path / "in_restored"
        restored_equal(out, ["a_0.png", "a_1.png", "b.images_0.png", "b.images_1.png"], originals(4))
        records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
        assert [(r["source"].rsplit("/", 1)[-1], r["key"], r["index"]) for r in records] == [
            ("a.npy", "a", 0), ("a.npy", "a", 1), ("b.pt", "images", 0), ("b.pt", "images", 1),
        ]  # fmt: skip

    def test_a_glob_of_shards(self, tmp_path, capsys):
        batch = preprocessed(4)
        save_shard(tmp_path / "s-0.tar", batch[:2])
        save_shard(tmp_path / "s-1.tar", batch[2:])
        result = cli("restore", "s-*.tar", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        names = [
            "s-0.000000.input.png",
            "s-0.000001.input.png",
            "s-1.000000.input.png",
            "s-1.000001.input.png",
        ]
        restored_equal(tmp_path / "restored", names, originals(4))
        result = cli("restore", "none-*.tar", cwd=tmp_path, capsys=capsys)
        assert "no file matches this pattern" in result.stderr

    def test_an_error_names_the_file_inside_the_folder(self, tmp_path, capsys):
        (tmp_path / "in").mkdir()
        np.save(tmp_path / "in" / "a.npy", preprocessed(1))
        bad = preprocessed(2)
        bad[1, 0, 0, 0] = np.nan
        np.save(tmp_path / "in" / "b.npy", bad)
        result = cli("restore", "in", "--model", "VGG16", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert "b.npy: image 1: holds 1 NaN" in result.stderr
        assert not (tmp_path / "in_restored").exists()


class TestFuzzedFiles:
    """Random bytes in every format: a valid read or one InputFileError, never anything else."""

    @pytest.mark.parametrize("suffix", [".pt", ".safetensors", ".tfrecord", ".tar"])
    def test_mutated_files(self, tmp_path, suffix):
        batch = preprocessed(2)
        path = tmp_path / f"x{suffix}"
        if suffix == ".pt":
            torch.save({"images": torch.from_numpy(batch)}, path)
        elif suffix == ".safetensors":
            pytest.importorskip("safetensors.numpy").save_file({"images": batch}, str(path))
        elif suffix == ".tfrecord":
            save_tfrecord(path, batch)
        else:
            save_shard(path, batch)
        original = path.read_bytes()
        rng = np.random.default_rng(0)
        for trial in range(40):
            data = bytearray(original)
            if trial % 3 == 0:
                data = data[: int(rng.integers(0, len(data)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    position = int(rng.integers(0, len(data)))
                    data[position] = int(rng.integers(0, 256))
            path.write_bytes(bytes(data))
            try:
                with open_arrays(path) as source:
                    for entry in source.entries:
                        for piece in source.pieces(entry, 1 << 20, 0):
                            assert piece.data.dtype.kind == "f"
            except InputFileError:
                pass


class TestHostilePickles:
    def test_shared_and_self_holding_containers_cost_no_time(self, tmp_path):
        shared: list = [torch.zeros(1, 2, 2, 3)]
        for _ in range(30):  # 2^30 paths through 31 lists
            shared = [shared, shared]
        loop: list = []
        loop.append(loop)
        torch.save({"deep": shared, "loop": loop}, tmp_path / "dag.pt")
        read = read_all(tmp_path / "dag.pt")
        assert len(read) == 1  # the one tensor, once

    def test_nesting_beyond_the_limit_is_refused(self, tmp_path):
        value: object = torch.zeros(1, 2, 2, 3)
        for _ in range(40):
            value = [value]
        torch.save(value, tmp_path / "deep.pt")
        with pytest.raises(InputFileError, match="nests more than 32 containers deep"):
            open_arrays(tmp_path / "deep.pt")
