"""`restore` at the encoder's limit: threads (--jobs), one sync per run, the manifest, --max-files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image
from test_cli import cli, images

from keras_deprocess import out_of_gamut, preprocess_input


def save_batch(tmp_path, name="batch.npy", n=5, model="VGG16"):
    originals = images(n)
    np.save(tmp_path / name, preprocess_input(originals.astype(np.float32), model))
    return originals


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class TestJobs:
    @pytest.mark.parametrize("jobs", ["1", "2", "7"])
    def test_every_image_is_exact_whatever_the_threads(self, tmp_path, capsys, jobs):
        originals = save_batch(tmp_path, n=9)
        result = cli("restore", "batch.npy", "--model", "VGG16", "--jobs", jobs, cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        for i, original in enumerate(originals):
            with Image.open(tmp_path / "batch_restored" / f"batch_{i}.png") as picture:
                np.testing.assert_array_equal(np.asarray(picture), original)

    def test_the_files_are_the_same_bytes_on_one_thread_and_many(self, tmp_path, capsys):
        save_batch(tmp_path, n=6)
        for jobs, out in (("1", "one"), ("3", "many")):
            result = cli(
                "restore", "batch.npy", "--model", "VGG16", "--jobs", jobs, "--out", out, "--manifest",
                cwd=tmp_path, capsys=capsys,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
        assert files(tmp_path / "one") == files(tmp_path / "many")

    def test_a_bad_jobs_value_is_refused_in_flag_words(self, tmp_path, capsys):
        save_batch(tmp_path, n=1)
        result = cli("restore", "batch.npy", "--jobs", "0", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert "--jobs" in result.stderr

    def test_an_error_in_a_later_image_leaves_nothing_while_threads_ran(self, tmp_path, capsys):
        batch = preprocess_input(images(40).astype(np.float32), "VGG16")
        batch[37, 3, 3, 1] = np.nan
        np.save(tmp_path / "batch.npy", batch)
        result = cli(
            "restore", "batch.npy", "--model", "VGG16", "--jobs", "4", "--chunk-mb", "1", "--manifest",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 2
        assert "image 37" in result.stderr
        assert not (tmp_path / "batch_restored").exists()


class TestOneSyncPerRun:
    def test_a_run_syncs_once_and_fsyncs_no_file(self, tmp_path, capsys, monkeypatch):
        save_batch(tmp_path, n=7)
        calls = {"sync": 0, "fsync": 0}
        monkeypatch.setattr(os, "sync", lambda: calls.__setitem__("sync", calls["sync"] + 1))
        real_fsync = os.fsync

        def counted_fsync(fd):
            calls["fsync"] += 1
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", counted_fsync)
        result = cli("restore", "batch.npy", "--model", "VGG16", "--manifest", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        assert calls == {"sync": 1, "fsync": 0}
        assert len(list((tmp_path / "batch_restored").iterdir())) == 8


class TestManifest:
    def test_one_line_per_image_in_the_order_read(self, tmp_path, capsys):
        np.save(tmp_path / "a.npy", preprocess_input(images(3).astype(np.float32), "VGG16"))
        np.savez(
            tmp_path / "dump.npz",
            clean=preprocess_input(images(2).astype(np.float32), "VGG16"),
            first=preprocess_input(images(1)[0].astype(np.float32), "VGG16"),
        )
        result = cli(
            "restore", "dump.npz", "--model", "VGG16", "--manifest", "--out", "out", "--json",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["manifest"] == os.path.join("out", "manifest.jsonl")
        lines = (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        assert records == [
            {"file": "clean_0.png", "source": "dump.npz", "key": "clean", "index": 0, "spec": "caffe",
             "clipped": 0, "mismatch": None},
            {"file": "clean_1.png", "source": "dump.npz", "key": "clean", "index": 1, "spec": "caffe",
             "clipped": 0, "mismatch": None},
            {"file": "first.png", "source": "dump.npz", "key": "first", "index": 0, "spec": "caffe",
             "clipped": 0, "mismatch": None},
        ]  # fmt: skip
        for record in records:
            assert (tmp_path / "out" / record["file"]).is_file()

    def test_clipped_counts_each_image_and_mismatch_names_the_finding(self, tmp_path, capsys):
        batch = preprocess_input(images(3).astype(np.float32), "VGG16")
        batch[1, :10, :10] += 400.0  # 100 pixels of image 1 restore above 255
        np.save(tmp_path / "batch.npy", batch)
        result = cli("restore", "batch.npy", "--model", "VGG16", "--manifest", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in (tmp_path / "batch_restored" / "manifest.jsonl").open()]
        expected = out_of_gamut(batch, "VGG16").mask.reshape(3, -1).sum(axis=1)
        assert [r["clipped"] for r in records] == expected.tolist()
        assert expected[1] >= 100
        assert expected[0] == 0
        narrow = images(2).astype(np.float32) / 255.0  # [0, 1] data to a [0, 255] spec
        np.save(tmp_path / "narrow.npy", narrow)
        result = cli(
            "restore", "narrow.npy", "--model", "identity", "--manifest", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in (tmp_path / "narrow_restored" / "manifest.jsonl").open()]
        assert [r["mismatch"] for r in records] == ["narrow", "narrow"]

    def test_an_existing_manifest_needs_force(self, tmp_path, capsys):
        save_batch(tmp_path, n=2)
        (tmp_path / "batch_restored").mkdir()
        (tmp_path / "batch_restored" / "manifest.jsonl").write_text("keep\n")
        result = cli("restore", "batch.npy", "--model", "VGG16", "--manifest", cwd=tmp_path, capsys=capsys)
        assert result.returncode == 2
        assert "manifest.jsonl: exists; pass --force" in result.stderr
        assert (tmp_path / "batch_restored" / "manifest.jsonl").read_text() == "keep\n"
        assert sorted(p.name for p in (tmp_path / "batch_restored").iterdir()) == ["manifest.jsonl"]
        result = cli(
            "restore", "batch.npy", "--model", "VGG16", "--manifest", "--force", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 0, result.stderr
        assert len((tmp_path / "batch_restored" / "manifest.jsonl").read_text().splitlines()) == 2


class TestMaxFiles:
    def test_a_run_over_the_cap_is_refused_before_anything_is_read(self, tmp_path, capsys):
        save_batch(tmp_path, n=5)
        result = cli(
            "restore", "batch.npy", "--model", "VGG16", "--max-files", "4", cwd=tmp_path, capsys=capsys
        )
        assert result.returncode == 2
        assert "would write 5 files, more than --max-files 4" in result.stderr
        assert "pass --max-files 5" in result.stderr
        assert not (tmp_path / "batch_restored").exists()

    def test_masks_and_the_manifest_count(self, tmp_path, capsys):
        save_batch(tmp_path, n=2)
        placed = ("--original-size", "300x300", "--geometry", "resize=128", "--mask")
        result = cli(
            "restore", "batch.npy", "--model", "VGG16", *placed, "--manifest", "--max-files", "4",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 2
        assert "would write 5 files" in result.stderr
        result = cli(
            "restore", "batch.npy", "--model", "VGG16", *placed, "--manifest", "--max-files", "5",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert len(list((tmp_path / "batch_restored").iterdir())) == 5
