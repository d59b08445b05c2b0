"""`keras-deprocess sheet` past its per-page pixel limit: numbered pages of whole rows, all or none.

The limit is lowered (monkeypatched) so that a few 8 x 8 images make
several pages quickly; each image has its own constant colour, so every
image can be counted on the pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import assert_one_line_input_error, cli

from keras_deprocess import preprocess_input
from keras_deprocess.cli.commands import sheet as sheet_command
from keras_deprocess.cli.commands.canvas import BACKGROUND, GAP

SIDE = 8
COLUMNS = 4
# A page of COLUMNS columns of SIDE x SIDE cells and two rows: 52 x 28 pixels.
WIDTH = COLUMNS * (SIDE + GAP) + GAP
TWO_ROWS = WIDTH * (2 * (SIDE + GAP) + GAP)


def colours(n: int) -> np.ndarray:
    """n distinct colours, none of them the sheet's background."""
    i = np.arange(n)
    return np.stack([5 + 10 * i, 250 - 10 * i, np.full(n, 128)], axis=1).astype(np.uint8)


def save_batch(path: Path, n: int) -> np.ndarray:
    """n constant-colour SIDE x SIDE images, preprocessed for VGG16; returns their colours."""
    palette = colours(n)
    batch = np.broadcast_to(palette[:, None, None, :], (n, SIDE, SIDE, 3)).copy()
    np.save(path, preprocess_input(batch, "VGG16"))
    return palette


def visible(folder: Path) -> set[str]:
    """Every name in `folder`, hidden ones (a staging folder left behind) included."""
    return {p.name for p in folder.iterdir()}


def sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str):
    return cli(
        "sheet", "batch.npy", "--model", "VGG16", "-o", "sheet.png", "--limit", "1000",
        "--columns", str(COLUMNS), *extra, cwd=tmp_path, capsys=capsys,
    )  # fmt: skip


class TestSheetPages:
    def test_one_page_keeps_the_name_given(self, tmp_path, capsys):
        save_batch(tmp_path / "batch.npy", 5)
        result = sheet(tmp_path, capsys, "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["output"] == "sheet.png"
        assert summary["pages"] == 1
        assert summary["outputs"] == ["sheet.png"]
        assert visible(tmp_path) == {"batch.npy", "sheet.png"}
        human = sheet(tmp_path, capsys, "--force")
        assert human.returncode == 0, human.stderr
        assert "5 image(s) to sheet.png" in human.stderr + human.stdout

    def test_many_pages_hold_every_image_once_within_the_limit(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(sheet_command, "SHEET_MAX_PIXELS", TWO_ROWS)
        palette = save_batch(tmp_path / "batch.npy", 23)  # 8 cells a page: 8 + 8 + 7
        result = sheet(tmp_path, capsys, "--json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        names = ["sheet-001.png", "sheet-002.png", "sheet-003.png"]
        assert summary["pages"] == 3
        assert summary["outputs"] == names
        assert summary["output"] == "sheet.png"
        assert visible(tmp_path) == {"batch.npy", *names}  # no sheet.png, no staging folder left
        counts: dict[tuple[int, ...], int] = {}
        for name in names:
            page = np.asarray(Image.open(tmp_path / name).convert("RGB"))
            assert page.shape[0] * page.shape[1] <= TWO_ROWS
            assert page.shape[1] == WIDTH  # the same columns on every page
            colour, count = np.unique(page.reshape(-1, 3), axis=0, return_counts=True)
            for c, k in zip(map(tuple, colour), count, strict=True):
                counts[c] = counts.get(c, 0) + int(k)
        assert counts.pop((BACKGROUND,) * 3) > 0
        assert counts == {tuple(int(v) for v in c): SIDE * SIDE for c in palette}
        # The last page holds its rows only: 7 cells in 2 rows.
        assert Image.open(tmp_path / names[-1]).size == (WIDTH, 2 * (SIDE + GAP) + GAP)

    def test_the_caption_is_on_every_page(self, tmp_path, capsys, monkeypatch):
        # --compare: 2 parts a cell and a 14-pixel caption; a page of 2 columns and 2 rows, 52 x 42.
        monkeypatch.setattr(sheet_command, "SHEET_MAX_PIXELS", 52 * 42)
        save_batch(tmp_path / "batch.npy", 9)
        result = sheet(tmp_path, capsys, "--compare", "--columns", "2", "--json")
        assert result.returncode == 0, result.stderr
        outputs = json.loads(result.stdout)["outputs"]
        assert len(outputs) == 3
        for name in outputs:
            page = np.asarray(Image.open(tmp_path / name).convert("RGB"))
            assert page.shape[0] * page.shape[1] <= 52 * 42
            assert (page[:14] != BACKGROUND).any(), name  # the caption's text

    def test_existing_pages_are_refused_without_force(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(sheet_command, "SHEET_MAX_PIXELS", TWO_ROWS)
        save_batch(tmp_path / "batch.npy", 23)
        (tmp_path / "sheet-002.png").write_bytes(b"keep me")
        result = sheet(tmp_path, capsys)
        assert_one_line_input_error(result, "3 pages", "1 of them exist", "sheet-002.png", "--force")
        assert visible(tmp_path) == {"batch.npy", "sheet-002.png"}
        assert (tmp_path / "sheet-002.png").read_bytes() == b"keep me"
        result = sheet(tmp_path, capsys, "--force")
        assert result.returncode == 0, result.stderr
        assert visible(tmp_path) == {"batch.npy", "sheet-001.png", "sheet-002.png", "sheet-003.png"}
        assert Image.open(tmp_path / "sheet-002.png").size[0] == WIDTH

    def test_a_row_too_wide_for_a_page_is_refused(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(sheet_command, "SHEET_MAX_PIXELS", TWO_ROWS)
        save_batch(tmp_path / "batch.npy", 23)
        result = sheet(tmp_path, capsys, "--columns", "23")
        assert_one_line_input_error(result, "Expected one row", "Received a row", "--columns", "--size")
        assert visible(tmp_path) == {"batch.npy"}

    def test_a_failure_on_a_later_page_leaves_no_page(self, tmp_path, capsys, monkeypatch):
        monkeypatch.setattr(sheet_command, "SHEET_MAX_PIXELS", TWO_ROWS)
        save_batch(tmp_path / "batch.npy", 23)
        batch = np.load(tmp_path / "batch.npy")
        batch[20, 3, 3, 0] = np.nan  # on the third page, after two were written
        np.save(tmp_path / "batch.npy", batch)
        result = sheet(tmp_path, capsys)
        assert_one_line_input_error(result, "NaN")
        assert visible(tmp_path) == {"batch.npy"}

    def test_webp_pages_keep_within_its_side_at_the_true_limit(self, tmp_path, capsys):
        # One column of 2000 cells of 12 pixels is 24004 pixels tall: past WebP's 16383.
        save_batch(tmp_path / "batch.npy", 25)
        batch = np.load(tmp_path / "batch.npy")
        np.save(tmp_path / "batch.npy", np.resize(batch, (2000, *batch.shape[1:])))
        result = cli(
            "sheet", "batch.npy", "--model", "VGG16", "-o", "s.webp", "--limit", "2000", "--columns", "1",
            "--json", cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["outputs"] == ["s-001.webp", "s-002.webp"]
        heights = [Image.open(tmp_path / name).size[1] for name in ("s-001.webp", "s-002.webp")]
        assert max(heights) <= 16383
        assert sum(heights) == 2000 * (SIDE + GAP) + 2 * GAP

    def test_ten_thousand_small_images_at_the_true_limit(self, tmp_path, capsys):
        save_batch(tmp_path / "batch.npy", 25)
        batch = np.load(tmp_path / "batch.npy")
        np.save(tmp_path / "batch.npy", np.resize(batch, (10_000, *batch.shape[1:])))
        result = cli(
            "sheet", "batch.npy", "--model", "VGG16", "-o", "s.png", "--limit", "10000", "--json",
            cwd=tmp_path, capsys=capsys,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["pages"] == 1  # 100 x 100 cells of 12 pixels: 1.4 megapixels
        assert summary["images"] == 10_000
