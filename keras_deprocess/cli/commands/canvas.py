"""Contact sheets, for `sheet` and `demo`: a canvas of known size, and thumbnails made as rows stream.

The sheet's size is known from the headers before any data is read. A
sheet above `SHEET_MAX_PIXELS` is split into pages of whole grid rows
(`PagePlan`), each within the limit, drawn one at a time. Each image is shrunk by an integer factor
(a box average) band by band, straight into its place on the sheet, so
neither a huge image nor many images are ever held whole. `to_rgb` is the
CLI's one grey-to-RGB helper (the library has its own, `images._rgb`).
"""

from __future__ import annotations

import math

import numpy as np

from keras_deprocess.cli.library import GridLayout, to_rgb

__all__ = [
    "SHEET_MAX_PIXELS",
    "Canvas",
    "PagePlan",
    "Thumbnail",
    "contact_sheet",
    "shrink_factor",
    "thumbnail_shape",
]

SHEET_MAX_PIXELS = 1 << 24  # 16.8 megapixels: 48 MiB of RGB
GAP, BACKGROUND, CAPTION_HEIGHT = 4, 32, 14


def shrink_factor(height: int, width: int, size: int) -> int:
    return max(1, math.ceil(max(height, width) / size))


def thumbnail_shape(height: int, width: int, factor: int) -> tuple[int, int]:
    return math.ceil(height / factor), math.ceil(width / factor)


class Thumbnail:
    """An image shrunk by `factor` (a box average) into `out`, from bands of rows in order.

    A row of `out` is written as soon as its source rows are in; only the
    sums of the one unfinished row are kept, so the memory is that of a band.

    Args:
        height, width: The image's.
        factor: The shrink factor.
        out: Where the thumbnail goes, (ceil(height / factor), ceil(width / factor), 3)
            uint8, e.g. a region of the sheet.
    """

    def __init__(self, height: int, width: int, factor: int, out: np.ndarray) -> None:
        self.height, self.factor, self.out = height, factor, out
        self._column_counts = np.full(out.shape[1], factor, np.float64)
        self._column_counts[-1] = width - factor * (out.shape[1] - 1)
        self._open_row = -1  # the output row whose sums are in _open
        self._open = np.zeros(out.shape[1:], np.float64)

    def add(self, band: np.ndarray, top: int) -> None:
        """Rows ``top : top + len(band)`` of the image, (r, W, 3) uint8."""
        if self.factor == 1:
            self.out[top : top + len(band)] = band
            return
        step = max(self.factor, (1 << 20) // max(band[0].size, 1))  # about 1 MiB at a time
        for start in range(0, len(band), step):
            self._add_rows(band[start : start + step], top + start)

    def _add_rows(self, band: np.ndarray, top: int) -> None:
        f = self.factor
        targets = np.arange(top, top + len(band)) // f
        starts = np.flatnonzero(np.diff(targets, prepend=-1))
        exact = np.uint32 if f <= 4096 else np.uint64  # a block's sum of uint8 must not wrap
        rows = np.add.reduceat(band, starts, axis=0, dtype=exact)
        sums = np.add.reduceat(rows, np.arange(0, band.shape[1], f), axis=1).astype(np.float64)
        rows_of = targets[starts]
        if rows_of[0] == self._open_row:
            sums[0] += self._open
        bottom = top + len(band)
        last_done = rows_of[-1] if bottom == self.height or bottom % f == 0 else rows_of[-1] - 1
        for row, row_sums in zip(rows_of, sums, strict=True):
            if row <= last_done:
                count = min(f, self.height - row * f) * self._column_counts[:, None]
                self.out[row] = np.clip(np.rint(row_sums / count), 0, 255)
            else:
                self._open_row, self._open = row, row_sums


class Canvas:
    """A grid of `cells` cells of `parts` images side by side, each part at most (height, width).

    The cells are placed by `keras_deprocess.images.GridLayout`, as `image_grid` places them.
    """

    def __init__(self, cells: int, columns: int, parts: int, height: int, width: int, caption: str = ""):
        self.caption, self.part_width = caption, width
        self.layout = GridLayout(
            cells,
            columns,
            height,
            parts * width + (parts - 1) * GAP,
            GAP,
            top=CAPTION_HEIGHT if caption else 0,
        )
        self.shape = self.layout.shape

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def draw(self) -> np.ndarray:
        sheet = self.layout.canvas(BACKGROUND)
        if self.caption:
            from PIL import Image, ImageDraw

            strip = Image.fromarray(sheet[: self.layout.top])
            ImageDraw.Draw(strip).text((GAP, 2), self.caption, fill=(230, 230, 230))
            sheet[: self.layout.top] = np.asarray(strip)
        return sheet

    def region(self, sheet: np.ndarray, cell: int, part: int, height: int, width: int) -> np.ndarray:
        """The (height, width, 3) view of `sheet` where part `part` of cell `cell` goes."""
        y, x = self.layout.origin(cell)
        x += part * (self.part_width + GAP)
        return sheet[y : y + height, x : x + width]

    def place(self, sheet: np.ndarray, cell: int, parts: list[np.ndarray]) -> None:
        for i, part in enumerate(parts):
            rgb = to_rgb(part)
            self.region(sheet, cell, i, *rgb.shape[:2])[:] = rgb


class PagePlan:
    """A grid of `cells` cells split into pages of whole rows, each within `limit` pixels.

    Every page has the same columns and the caption; the last page may have
    fewer rows. When the grid fits one page, that page is exactly the
    `Canvas` of the whole grid.

    Args:
        cells, columns, parts, height, width, caption: As for `Canvas`.
        limit: The most pixels a page may have.
        max_side: The longest side a page may have (WebP's), or None.
    """

    def __init__(
        self,
        cells: int,
        columns: int,
        parts: int,
        height: int,
        width: int,
        caption: str,
        limit: int,
        max_side: int | None = None,
    ) -> None:
        self.cells, self.columns, self.parts = cells, columns, parts
        self.height, self.width, self.caption = height, width, caption
        self.row = Canvas(columns, columns, parts, height, width, caption)  # a page of one row
        row_height = height + GAP
        tallest = limit // self.row.shape[1]
        if max_side is not None:
            tallest = 0 if self.row.shape[1] > max_side else min(tallest, max_side)
        # A page of r rows is `fixed + r * row_height` tall; 0 rows means not even one fits.
        fixed = self.row.shape[0] - row_height
        self.rows = max(0, (tallest - fixed) // row_height)
        self.per_page = self.rows * columns
        self.count = math.ceil(cells / self.per_page) if self.per_page else 0

    def canvas(self, page: int) -> Canvas:
        """Page `page`'s canvas: its cells are ``page * per_page``, … in grid order."""
        cells = min(self.per_page, self.cells - page * self.per_page)
        return Canvas(cells, self.columns, self.parts, self.height, self.width, self.caption)

    def locate(self, cell: int) -> tuple[int, int]:
        """The (page, index on that page) of cell `cell`."""
        page, index = divmod(cell, self.per_page)
        return page, index


def contact_sheet(rows: list[list[np.ndarray]], columns: int, caption: str = "") -> np.ndarray:
    """A grid of cells; each cell is a list of images shown side by side."""
    parts = max(len(cell) for cell in rows)
    height = max(image.shape[0] for cell in rows for image in cell)
    width = max(image.shape[1] for cell in rows for image in cell)
    canvas = Canvas(len(rows), columns, parts, height, width, caption)
    sheet = canvas.draw()
    for i, cell in enumerate(rows):
        canvas.place(sheet, i, cell)
    return sheet
