"""Every public operation through one template (tests/template.py), on every framework.

Each class declares its cases, inputs, the operation's call and its NumPy
reference: Keras's `preprocess_input`, scikit-image's `rgb2lab`/`lab2xyz`, or
the documented formula written out in float64. The template runs the same
tests for all of them: output type, reference, traced, gradient, no mutation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import to_layout
from overlay_reference import OPENCV_JET_RGB, show_cam_on_image
from template import Case, OperationTests

from keras_deprocess import (
    AuditReport,
    Canvas,
    CenterCrop,
    DeprocessError,
    Gamut,
    Geometry,
    ModeGuess,
    Resize,
    audit,
    decode_ab,
    detect_mode,
    encode_ab,
    image_grid,
    merge_l_ab,
    out_of_gamut,
    overlay,
    preprocess_input,
    restore_original_image_from_array,
    to_images,
    to_original,
    to_pil,
    unpatchify,
)

skimage_color = pytest.importorskip("skimage.color")

# -- inputs --------------------------------------------------------------------------------

BATCH = (2, 8, 8)  # N, H, W: small, so that every framework and tracer stays fast


def uint8_images(
    batched: bool, seed: int = 0, channels: int = 3, low: int = 0, high: int = 256
) -> np.ndarray:
    """Reproducible uint8 images, channels last; one image is the batch's first."""
    images = np.random.default_rng(seed).integers(low, high, (*BATCH, channels), dtype=np.uint8)
    return images if batched else images[0]


def float_images(batched: bool, seed: int = 0) -> np.ndarray:
    """Float images away from 0 and 255 (clipping's kinks) and from whole numbers, as after optimization."""
    images = uint8_images(batched, seed, low=8, high=248).astype(np.float64)
    return images + np.random.default_rng(seed + 1).uniform(-0.4, 0.4, images.shape)


def channels_last(x: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "channels_last":
        return x
    return np.moveaxis(x, 0 if x.ndim == 3 else 1, -1)


def with_pixels(images: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """`images` (channels last) with its first pixels replaced by `pixels`."""
    out = images.copy()
    flat = out.reshape(-1, out.shape[-1])
    flat[: len(pixels)] = pixels
    return out


# Black, grey, white, the knee of Lab's cube root (L = 8), and near sRGB's knee:
# gradients must be finite there (a naive `where` leaks NaN from the unused branch).
KINK_LAB = np.array(
    [[0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [100.0, 0.0, 0.0], [8.0, 0.0, 0.0], [2.74, 1.0, -1.0]]
)
KINK_RGB = np.array([[0.0] * 3, [127.5] * 3, [255.0] * 3, [10.31475] * 3])  # 10.31475 = 255 * 0.04045

# -- references: Keras, scikit-image, and the documented formulas in float64 ----------------

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68])
TORCH_MEAN = np.array([0.485, 0.456, 0.406])
TORCH_STD = np.array([0.229, 0.224, 0.225])
# 'colorization': L' = (L - 50) / 100, a' = a / 110, b' = b / 110 (Zhang et al.).
COLORIZATION_OFFSET = np.array([50.0, 0.0, 0.0])
COLORIZATION_SCALE = np.array([100.0, 110.0, 110.0])

# What each name the cases pass resolves to.
SPEC_OF = {
    "VGG16": "caffe",
    "InceptionV3": "tf",
    "caffe": "caffe",
    "tf": "tf",
    "torch": "torch",
    "colorization": "colorization",
    "lab": "lab",
}


def keras_preprocess(images: np.ndarray, spec: str) -> np.ndarray:
    """Keras's own preprocess_input, channels last, on a copy (Keras writes into float input)."""
    import keras

    function = {
        "caffe": keras.applications.vgg16.preprocess_input,
        "tf": keras.applications.inception_v3.preprocess_input,
    }.get(spec)
    images = images.copy()
    if function is None:
        return keras.applications.imagenet_utils.preprocess_input(
            images, data_format="channels_last", mode=spec
        )
    return function(images, data_format="channels_last")


def lab_from_rgb(images: np.ndarray) -> np.ndarray:
    """scikit-image's rgb2lab of values in [0, 255], float64."""
    return skimage_color.rgb2lab(np.asarray(images, np.float64) / 255)


def rgb_from_lab(lab: np.ndarray) -> np.ndarray:
    """Lab → sRGB in [0, 255], NOT clipped: scikit-image's lab2xyz, then its XYZ → sRGB formulas.

    `skimage.color.lab2rgb` clips to [0, 1]; the unclipped values are what
    `clip=False` and `out_of_gamut` need (test_the_lab_reference_is_skimage_lab2rgb).
    """
    from skimage.color.colorconv import rgb_from_xyz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lab2xyz warns of the negative Z it sets to 0
        xyz = skimage_color.lab2xyz(lab)
    linear = xyz @ rgb_from_xyz.T
    return 255 * np.where(linear > 0.0031308, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055, 12.92 * linear)


def negative_z(lab: np.ndarray) -> np.ndarray:
    """Where f(Z) = (L + 16) / 116 - b / 200 < 0, as scikit-image counts them."""
    return (lab[..., 0] + 16) / 116 - lab[..., 2] / 200 < 0


def forward(images: np.ndarray, spec: str) -> np.ndarray:
    """The reference preprocessing of RGB images in [0, 255], channels last."""
    if spec == "lab":
        return lab_from_rgb(images)
    if spec == "colorization":
        return (lab_from_rgb(images) - COLORIZATION_OFFSET) / COLORIZATION_SCALE
    return keras_preprocess(images, spec)


def inverse(y: np.ndarray, spec: str) -> np.ndarray:
    """The documented inverse, channels last, float64, unclipped."""
    y = np.asarray(y, np.float64)
    if spec == "caffe":
        return (y + CAFFE_MEAN_BGR)[..., ::-1]
    if spec == "tf":
        return (y + 1) * 127.5
    if spec == "torch":
        return (y * TORCH_STD + TORCH_MEAN) * 255
    if spec == "colorization":
        y = y * COLORIZATION_SCALE + COLORIZATION_OFFSET
    return rgb_from_lab(y)


def as_uint8(values: np.ndarray) -> np.ndarray:
    """Round to nearest, then clip, then cast: the exact image."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def spec_of(case: Case) -> str:
    return SPEC_OF[case.kwargs.get("model") or case.kwargs.get("mode") or case.kwargs.get("spec", "")]


def bilinear(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling with half-pixel centres (align_corners=False), (N, h, w, C), float64."""

    def weights(size_in: int, size_out: int) -> np.ndarray:
        source = np.maximum((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0.0)
        low = np.floor(source).astype(int)
        high = np.minimum(low + 1, size_in - 1)
        fraction = source - low
        matrix = np.zeros((size_out, size_in))
        matrix[np.arange(size_out), low] += 1 - fraction
        matrix[np.arange(size_out), high] += fraction
        return matrix

    rows, columns = weights(values.shape[1], height), weights(values.shape[2], width)
    return np.einsum("yh,xw,nhwc->nyxc", rows, columns, np.asarray(values, np.float64))


def grid(cells: list[np.ndarray], columns: int | None, padding: int, pad_value: int) -> np.ndarray:
    """torchvision's make_grid layout: `columns` per row, `padding` around every cell, centred cells."""
    columns = min(columns or 8, len(cells))
    height, width = max(c.shape[0] for c in cells), max(c.shape[1] for c in cells)
    rows = math.ceil(len(cells) / columns)
    out = np.full((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), pad_value)
    for i, cell in enumerate(cells):
        row, column = divmod(i, columns)
        y = padding + row * (height + padding) + (height - cell.shape[0]) // 2
        x = padding + column * (width + padding) + (width - cell.shape[1]) // 2
        out[y : y + cell.shape[0], x : x + cell.shape[1]] = cell
    return out.astype(np.uint8)


# -- the operations ---------------------------------------------------------------------------


class TestRestoreOriginalImageFromArray(OperationTests):
    output = "framework"
    cases = (
        Case("VGG16-uint8", {"model": "VGG16"}, dtype="uint8", torch_compile=True),
        Case("colorization-uint8", {"model": "colorization"}, dtype="uint8"),
        Case("tf-float32", {"mode": "tf", "dtype": "float32"}, "float32", differentiable=True, atol=1e-4),
        Case(
            "VGG16-float32-unclipped",
            {"model": "VGG16", "dtype": "float32", "clip": False},
            "float32",
            differentiable=True,
            atol=1e-4,
        ),
        Case(
            "torch-float32-unclipped",
            {"mode": "torch", "dtype": "float32", "clip": False},
            "float32",
            differentiable=True,
            atol=1e-4,
        ),
        Case(
            "colorization-float32-unclipped",
            {"model": "colorization", "dtype": "float32", "clip": False},
            "float32",
            differentiable=True,
            atol=5e-3,  # float32 Lab: within 0.0025 levels (test_lab)
            gradient_rtol=1e-3,
        ),
    )

    def inputs(self, case, data_format, batched):
        spec = spec_of(case)
        images = uint8_images(batched) if case.dtype == "uint8" else float_images(batched)
        preprocessed = forward(images, spec)
        if spec == "colorization" and case.differentiable:
            preprocessed = with_pixels(preprocessed, (KINK_LAB - COLORIZATION_OFFSET) / COLORIZATION_SCALE)
        return (to_layout(preprocessed.astype(np.float32), data_format),)

    def operation(self, case, x, *, data_format):
        return restore_original_image_from_array(x, **case.kwargs, data_format=data_format)

    def reference(self, case, x, *, data_format):
        rgb = inverse(channels_last(x, data_format), spec_of(case))
        if case.dtype == "uint8":
            rgb = as_uint8(rgb)
        elif case.kwargs.get("clip", True):
            rgb = np.clip(rgb, 0, 255)
        return to_layout(rgb, data_format)


class TestPreprocessInput(OperationTests):
    output = "framework"
    cases = (
        Case("VGG16-uint8", {"model": "VGG16"}, "float32", atol=2e-5, rtol=1e-6),
        Case("InceptionV3-uint8", {"model": "InceptionV3"}, "float32", atol=2e-5, rtol=1e-6),
        Case(
            "torch-float32",
            {"mode": "torch"},
            "float32",
            differentiable=True,
            torch_compile=True,
            atol=2e-5,
            rtol=1e-6,
        ),
        Case(
            "colorization-float32",
            {"model": "colorization"},
            "float32",
            differentiable=True,
            atol=1e-5,
            gradient_rtol=1e-3,
        ),
    )

    def inputs(self, case, data_format, batched):
        if case.name.endswith("uint8"):
            images = uint8_images(batched)
        else:
            images = float_images(batched)
            if spec_of(case) == "colorization":
                images = with_pixels(images, KINK_RGB)
            images = images.astype(np.float32)
        return (to_layout(images, data_format),)

    def operation(self, case, x, *, data_format):
        return preprocess_input(x, **case.kwargs, data_format=data_format)

    def reference(self, case, x, *, data_format):
        return to_layout(forward(channels_last(x, data_format), spec_of(case)), data_format)


class TestToImages(OperationTests):
    output = "numpy"
    traceable = False
    cases = (
        Case("VGG16", {"model": "VGG16"}, "uint8"),
        Case("colorization", {"model": "colorization"}, "uint8"),
    )

    def inputs(self, case, data_format, batched):
        preprocessed = forward(uint8_images(batched), spec_of(case)).astype(np.float32)
        return (to_layout(preprocessed, data_format),)

    def operation(self, case, x, *, data_format):
        return to_images(x, **case.kwargs, data_format=data_format)

    def reference(self, case, x, *, data_format):
        return as_uint8(inverse(channels_last(x, data_format), spec_of(case)))  # always channels last


class TestToPil(TestToImages):
    output = "pil"
    cases = (Case("VGG16", {"model": "VGG16"}, "uint8"),)

    def operation(self, case, x, *, data_format):
        return to_pil(x, **case.kwargs, data_format=data_format)


class TestImageGrid(OperationTests):
    output = "numpy"
    traceable = False
    cases = (
        Case("VGG16-restored", {"model": "VGG16"}, "uint8"),
        Case("uint8-rgba", {"columns": 1, "padding": 1, "pad_value": 9}, "uint8"),
    )

    def inputs(self, case, data_format, batched):
        if "model" in case.kwargs:
            images = forward(uint8_images(batched), spec_of(case)).astype(np.float32)
        else:
            images = uint8_images(batched, channels=4)  # alpha is dropped
        return (to_layout(images, data_format),)

    def operation(self, case, images, *, data_format):
        return image_grid(images, **case.kwargs, data_format=data_format)

    def reference(self, case, images, *, data_format):
        images = channels_last(images, data_format)
        if "model" in case.kwargs:
            images = as_uint8(inverse(images, spec_of(case)))
        cells = list(images[..., :3]) if images.ndim == 4 else [images[..., :3]]
        return grid(
            cells, case.kwargs.get("columns"), case.kwargs.get("padding", 2), case.kwargs.get("pad_value", 0)
        )


class TestMergeLAb(OperationTests):
    output = "framework"
    gradient_arguments = (0, 1)
    cases = (
        Case(
            "upsampled",
            setup={"ab_size": (3, 5)},
            dtype="float32",
            differentiable=True,
            torch_compile=True,
            atol=1e-6,
        ),
        Case("same-size", setup={"ab_size": (8, 8)}, dtype="float32", differentiable=True, atol=0),
    )

    def inputs(self, case, data_format, batched):
        rng = np.random.default_rng(3)
        lightness = rng.uniform(-0.5, 0.5, (*BATCH, 1)).astype(np.float32)
        ab = rng.uniform(-1, 1, (BATCH[0], *case.setup["ab_size"], 2)).astype(np.float32)
        if not batched:
            lightness, ab = lightness[0], ab[0]
        return to_layout(lightness, data_format), to_layout(ab, data_format)

    def operation(self, case, lightness, ab, *, data_format):
        return merge_l_ab(lightness, ab, data_format=data_format)

    def reference(self, case, lightness, ab, *, data_format):
        lightness, ab = channels_last(lightness, data_format), channels_last(ab, data_format)
        single = lightness.ndim == 3
        if single:
            lightness, ab = lightness[None], ab[None]
        merged = np.concatenate([lightness, bilinear(ab, *lightness.shape[1:3])], -1)
        if ab.shape[1:3] == lightness.shape[1:3]:
            merged = merged.astype(lightness.dtype)  # no resampling: the values themselves, exactly
        return to_layout(merged[0] if single else merged, data_format)


# Bin centres in ab units: a 5 × 5 grid, 20 apart (small, so finite differences stay cheap).
BINS = np.array([[a, b] for a in (-40.0, -20.0, 0.0, 20.0, 40.0) for b in (-40.0, -20.0, 0.0, 20.0, 40.0)])
BIN_SHAPE = (BATCH[0], 4, 4)  # N, H, W of the distributions


def ab_scale(spec: str) -> float:
    """ab in `spec`'s normalization = ab / ab_scale(spec)."""
    return {"colorization": 110.0, "lab": 1.0}[spec]


class TestDecodeAb(OperationTests):
    output = "framework"
    cases = (
        Case(
            "colorization-T0.38",
            {"spec": "colorization", "bins": BINS},
            "float32",
            differentiable=True,
            torch_compile=True,
            atol=1e-6,
        ),
        Case(
            "lab-mean",
            {"spec": "lab", "bins": BINS, "temperature": 1.0},
            "float32",
            differentiable=True,
            atol=1e-4,
        ),
    )

    def inputs(self, case, data_format, batched):
        # Softmax-like outputs, none near 0 (where log's finite differences would leave the domain).
        p = (np.random.default_rng(5).dirichlet(np.ones(len(BINS)), BIN_SHAPE) + 1 / len(BINS)) / 2
        p = p.astype(np.float32)
        return (to_layout(p if batched else p[0], data_format),)

    def operation(self, case, p, *, data_format):
        return decode_ab(p, **case.kwargs, data_format=data_format)

    def reference(self, case, p, *, data_format):
        """f_T(z) = exp(log z / T) / sum(...); ab = sum f_T(z)_q c_q, normalized as the spec does."""
        logits = np.log(np.asarray(channels_last(p, data_format), np.float64)) / case.kwargs.get(
            "temperature", 0.38
        )
        annealed = np.exp(logits - logits.max(-1, keepdims=True))
        annealed /= annealed.sum(-1, keepdims=True)
        return to_layout(annealed @ BINS / ab_scale(spec_of(case)), data_format)


class TestEncodeAb(OperationTests):
    output = "framework"
    cases = (
        Case(
            "colorization",
            {"spec": "colorization", "bins": BINS},
            "float32",
            torch_compile=True,
            atol=1e-5,
        ),
    )

    def inputs(self, case, data_format, batched):
        ab = np.random.default_rng(6).uniform(-0.35, 0.35, (*BIN_SHAPE, 2)).astype(np.float32)
        return (to_layout(ab if batched else ab[0], data_format),)

    def operation(self, case, ab, *, data_format):
        return encode_ab(ab, **case.kwargs, data_format=data_format)

    def reference(self, case, ab, *, data_format):
        """Gaussian weights exp(-d² / 2σ²) over the 5 nearest bins, summing to 1; 0 elsewhere."""
        values = np.asarray(channels_last(ab, data_format), np.float64) * ab_scale(spec_of(case))
        squared = ((values[..., None, :] - BINS) ** 2).sum(-1)
        nearest = np.argsort(squared, -1)[..., :5]
        weights = np.zeros_like(squared)
        np.put_along_axis(
            weights, nearest, np.exp(-np.take_along_axis(squared, nearest, -1) / (2 * 5.0**2)), -1
        )
        return to_layout(weights / weights.sum(-1, keepdims=True), data_format)


class TestOutOfGamut(OperationTests):
    output = "report"
    report_type = Gamut
    traceable = False
    cases = (
        Case("lab", {"model": "lab"}),
        Case("colorization", {"model": "colorization"}),
        Case("VGG16", {"model": "VGG16"}),
    )

    def inputs(self, case, data_format, batched):
        rng = np.random.default_rng(7)
        spec = spec_of(case)
        if spec == "caffe":  # some values beyond [0, 255] once restored
            x = keras_preprocess(rng.uniform(-40, 295, (*BATCH, 3)), "caffe")
        else:  # predicted Lab: often beyond sRGB, sometimes with f(Z) < 0
            x = rng.uniform([0, -120, -120], [100, 120, 120], (*BATCH, 3))
            if spec == "colorization":
                x = (x - COLORIZATION_OFFSET) / COLORIZATION_SCALE
        x = x.astype(np.float32)
        return (to_layout(x if batched else x[0], data_format),)

    def operation(self, case, x, *, data_format):
        return out_of_gamut(x, **case.kwargs, data_format=data_format)

    def reference(self, case, x, *, data_format):
        y = np.asarray(channels_last(x, data_format), np.float64)
        spec = spec_of(case)
        rgb = inverse(y, spec)
        mask = ((rgb < -0.5) | (rgb > 255.5)).any(-1)
        below = 0
        if spec != "caffe":
            below = int(
                negative_z(
                    y * COLORIZATION_SCALE + COLORIZATION_OFFSET if spec == "colorization" else y
                ).sum()
            )
        return {"mask": mask, "count": int(mask.sum()), "negative_z": below, "pixels": mask.size}

    def comparable(self, out, framework):
        return {"mask": out.mask, "count": out.count, "negative_z": out.negative_z, "pixels": out.pixels}

    def assert_matches(self, actual, expected, case):
        np.testing.assert_array_equal(actual.pop("mask"), expected.pop("mask"))
        assert actual == expected
        assert expected["count"] > 0  # the case exercises what it reports

    def check_report(self, out, arrays, case):
        assert out.mask.dtype == bool
        assert out.mask.shape == arrays[0].shape[:-1]
        assert out.count == int(out.mask.sum())
        assert out.pixels == out.mask.size
        assert 0 <= out.negative_z <= out.pixels


class TestDetectMode(OperationTests):
    output = "report"
    report_type = list
    traceable = False
    cases = tuple(Case(mode, setup={"mode": mode}) for mode in ("caffe", "tf", "torch"))

    def inputs(self, case, data_format, batched):
        x = keras_preprocess(uint8_images(batched, seed=11).astype(np.float32), case.setup["mode"])
        return (to_layout(x, data_format),)

    def operation(self, case, x, *, data_format):
        return detect_mode(x, data_format=data_format)

    def reference(self, case, x, *, data_format):
        return case.setup["mode"]  # the mode whose Keras preprocess_input made `x`

    def comparable(self, out, framework):
        return out[0].name

    def assert_matches(self, actual, expected, case):
        assert actual == expected

    def check_report(self, out, arrays, case):
        assert all(isinstance(g, ModeGuess) for g in out)
        confidences = [g.confidence for g in out]
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) == pytest.approx(1.0)
        assert out[0].confidence > 0.9
        assert out[0].quantization < 0.01


def overlay_heatmaps(case: Case, batched: bool) -> np.ndarray:
    """Float heatmaps at another resolution (or the image's), or integer label maps."""
    rng = np.random.default_rng(21)
    size = case.setup.get("heatmap_size", (3, 5))
    if case.setup.get("labels"):
        maps = rng.integers(0, 7, (BATCH[0], *size), dtype=np.int32)
    else:
        low, high = case.setup.get("range", (-1.0, 3.0))
        maps = rng.uniform(low, high, (BATCH[0], *size)).astype(np.float32)
    if case.setup.get("with_channel"):
        maps = maps[:, None]
    return maps if batched else maps[0].reshape(maps.shape[-2:])


def sampled(values: np.ndarray, height: int, width: int, nearest: bool) -> np.ndarray:
    """A (h, w) map at (height, width): bilinear with half-pixel centres (rows, then columns), or nearest."""
    h, w = values.shape
    out = np.empty((height, width), values.dtype if nearest else np.float64)
    for i in range(height):
        for j in range(width):
            y, x = (i + 0.5) * h / height, (j + 0.5) * w / width
            if nearest:
                out[i, j] = values[min(int(y), h - 1), min(int(x), w - 1)]
                continue
            sy, sx = min(max(y - 0.5, 0.0), h - 1), min(max(x - 0.5, 0.0), w - 1)
            y0, x0 = int(sy), int(sx)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            fy, fx = sy - y0, sx - x0
            left = values[y0, x0] * (1 - fy) + values[y1, x0] * fy
            right = values[y0, x1] * (1 - fy) + values[y1, x1] * fy
            out[i, j] = left * (1 - fx) + right * fx
    return out


class TestOverlay(OperationTests):
    """out = round((1 - alpha) image + alpha colour[round(255 t)]), t the heatmap's min-max, resampled."""

    output = "numpy"
    traceable = False
    cases = (
        Case("VGG16-jet", {"model": "VGG16"}, "uint8"),
        Case(
            "uint8-viridis-unit",
            {"colormap": "viridis", "normalize": False, "alpha": 0.3},
            "uint8",
            setup={"range": (0.0, 1.0), "heatmap_size": (8, 8), "with_channel": True},
        ),
        Case(
            "torch-pytorch-grad-cam",
            {"mode": "torch", "compat": "pytorch-grad-cam", "alpha": 0.4},
            "uint8",
            setup={"range": (0.0, 1.0), "heatmap_size": (8, 8)},
        ),
        Case("uint8-labels", {"alpha": 0.6}, "uint8", setup={"labels": True, "heatmap_size": (4, 4)}),
    )

    def inputs(self, case, data_format, batched):
        pictures = uint8_images(batched, seed=23)
        if "model" in case.kwargs or "mode" in case.kwargs:
            pictures = forward(pictures, spec_of(case)).astype(np.float32)
        return to_layout(pictures, data_format), overlay_heatmaps(case, batched)

    def operation(self, case, images, heatmap, *, data_format):
        kwargs = dict(case.kwargs)
        model = kwargs.pop("model", None) or kwargs.pop("mode", None)
        return overlay(images, heatmap, model, **kwargs, data_format=data_format)

    def reference(self, case, images, heatmap, *, data_format):
        pictures = channels_last(images, data_format)
        if pictures.dtype != np.uint8:
            pictures = as_uint8(inverse(pictures, spec_of(case)))
        single = pictures.ndim == 3
        pictures = pictures[None] if single else pictures
        maps = np.asarray(heatmap)
        maps = maps.reshape(-1, *maps.shape[-2:])
        alpha = case.kwargs.get("alpha", 0.5)
        out = np.empty_like(pictures)
        for k, (picture, values) in enumerate(zip(pictures, maps, strict=True)):
            height, width = picture.shape[:2]
            if case.setup.get("labels"):
                colours = voc_colours()[sampled(values, height, width, nearest=True)]
            elif case.kwargs.get("compat"):
                mask = sampled(values.astype(np.float64), height, width, False).astype(values.dtype)
                out[k] = show_cam_on_image(
                    np.float32(picture) / 255, mask, use_rgb=True, image_weight=1 - alpha
                )
                continue
            else:
                t = values.astype(np.float64)
                if case.kwargs.get("normalize", True):
                    t = (t - t.min()) / (t.max() - t.min())
                table = viridis_table() if case.kwargs.get("colormap") == "viridis" else OPENCV_JET_RGB
                colours = table[np.rint(255 * sampled(t, height, width, False)).astype(int)]
            out[k] = np.rint((1 - alpha) * picture.astype(np.float64) + alpha * colours).astype(np.uint8)
        return out[0] if single else out


def voc_colours() -> np.ndarray:
    """PASCAL VOC's palette: the bits of class j spread over the channels' high bits."""
    table = np.zeros((256, 3), np.uint8)
    for j in range(256):
        c, rgb = j, [0, 0, 0]
        for bit in range(8):
            for channel in range(3):
                rgb[channel] |= ((c >> channel) & 1) << (7 - bit)
            c >>= 3
        table[j] = rgb
    return table


def viridis_table() -> np.ndarray:
    import matplotlib

    colours = matplotlib.colormaps["viridis"](np.arange(256) / 255)[:, :3]
    return np.rint(colours * 255).astype(np.uint8)


AUDIT_SHAPE = (3, 16, 16)  # N, H, W: enough values for the checks to judge one image


class TestAudit(OperationTests):
    """The report of one batch: whether it fits the model, what it found, what it looks like."""

    output = "report"
    report_type = AuditReport
    traceable = False
    cases = (
        Case("torch-data-imagenet", {"model": "imagenet"}, setup={"data": "torch", "kinds": []}),
        Case(
            "torch-data-ResNet50",
            {"model": "ResNet50"},
            setup={"data": "torch", "kinds": ["whole-elsewhere"]},
        ),
        Case(
            "tf-twice-MobileNetV2",
            {"model": "MobileNetV2"},
            setup={"data": "tf-twice", "kinds": ["normalized-twice"]},
        ),
    )

    def inputs(self, case, data_format, batched):
        pictures = np.random.default_rng(29).integers(0, 256, (*AUDIT_SHAPE, 3), dtype=np.uint8)
        data = case.setup["data"]
        x = forward(pictures, "torch") if data == "torch" else forward(forward(pictures, "tf"), "tf")
        x = x.astype(np.float32)
        return (to_layout(x if batched else x[0], data_format),)

    def operation(self, case, x, *, data_format):
        return audit(x, **case.kwargs, data_format=data_format)

    def reference(self, case, x, *, data_format):
        return {"ok": not case.setup["kinds"], "kinds": case.setup["kinds"], "data_format": data_format}

    def comparable(self, out, framework):
        return {
            "ok": out.ok,
            "kinds": [f.kind for f in out.findings],
            "data_format": out.batches[0].data_format,
        }

    def assert_matches(self, actual, expected, case):
        assert actual == expected

    def check_report(self, out, arrays, case):
        import json

        (record,) = out.batches
        assert record.shape == list(arrays[0].shape)
        assert record.nan == record.posinf == record.neginf == 0
        assert len(record.mean) == len(record.std) == 3
        assert record.min <= min(record.mean)
        assert max(record.mean) <= record.max
        assert json.loads(json.dumps(out.to_dict()))["ok"] == out.ok
        assert "batch" in str(out).splitlines()[1]


# -- errors inside a trace ------------------------------------------------------------------


def test_a_deprocess_error_inside_tf_function_stays_a_deprocess_error():
    tf = pytest.importorskip("tensorflow")

    def restore(t):  # 3 channels on the last axis, but channels_first said
        return restore_original_image_from_array(t, "VGG16", data_format="channels_first")

    with pytest.raises(DeprocessError, match="pass data_format='channels_last'"):
        tf.function(restore)(tf.zeros((1, 2, 2, 3)))


# -- the references themselves ----------------------------------------------------------------


def test_the_lab_reference_is_skimage_lab2rgb_in_gamut():
    lab = lab_from_rgb(uint8_images(True))
    np.testing.assert_allclose(
        np.clip(rgb_from_lab(lab), 0, 255) / 255, skimage_color.lab2rgb(lab), atol=1e-12
    )
    np.testing.assert_allclose(rgb_from_lab(lab), uint8_images(True), atol=1e-9)


def test_the_bilinear_reference_is_torch_interpolate():
    torch = pytest.importorskip("torch")
    ab = np.random.default_rng(0).uniform(-1, 1, (2, 3, 5, 2))
    theirs = torch.nn.functional.interpolate(
        torch.tensor(ab).permute(0, 3, 1, 2), size=(8, 8), mode="bilinear", align_corners=False
    )
    np.testing.assert_allclose(bilinear(ab, 8, 8), theirs.permute(0, 2, 3, 1).numpy(), atol=1e-12)


# -- geometry: coordinates, the canvas, patches ---------------------------------------------------

# Resize(256) then CenterCrop(224) on 300x420, by hand: 300x420 → 256x358 (int(256 * 420 / 300)),
# then round(32 / 2) = 16 rows and round(134 / 2) = 67 columns cut off.
GEOMETRY = Geometry((300, 420), (Resize(256), CenterCrop(224)))
HAND_SCALE = np.array([358 / 420, 256 / 300])  # (x, y)
HAND_OFFSET = np.array([-67.0, -16.0])


def coordinates(case: Case, batched: bool) -> np.ndarray:
    last = case.setup["last"]
    coords = np.random.default_rng(13).uniform(-50, 450, (2, 5, last)).astype(np.float32)
    return coords if batched else coords[0]


class TestGeometryToInput(OperationTests):
    output = "framework"
    layouts = ("channels_last",)  # coordinates have no channel axis
    cases = (
        Case(
            "points", setup={"last": 2}, dtype="float32", differentiable=True, torch_compile=True, atol=1e-4
        ),
        Case("boxes", setup={"last": 4}, dtype="float32", differentiable=True, atol=1e-4),
    )

    def inputs(self, case, data_format, batched):
        return (coordinates(case, batched),)

    def operation(self, case, coords, *, data_format):
        return GEOMETRY.to_input(coords)

    def reference(self, case, coords, *, data_format):
        repeat = case.setup["last"] // 2
        return np.asarray(coords, np.float64) * np.tile(HAND_SCALE, repeat) + np.tile(HAND_OFFSET, repeat)


class TestGeometryToOriginal(TestGeometryToInput):
    cases = (
        Case(
            "points", setup={"last": 2}, dtype="float32", differentiable=True, torch_compile=True, atol=1e-4
        ),
        Case("boxes-clipped", setup={"last": 4, "clip": True}, dtype="float32", atol=1e-4),
    )

    def operation(self, case, coords, *, data_format):
        return GEOMETRY.to_original(coords, clip=case.setup.get("clip", False))

    def reference(self, case, coords, *, data_format):
        repeat = case.setup["last"] // 2
        out = (np.asarray(coords, np.float64) - np.tile(HAND_OFFSET, repeat)) / np.tile(HAND_SCALE, repeat)
        if case.setup.get("clip"):
            out = np.clip(out, 0, np.tile([420.0, 300.0], repeat))
        return out


# A small canvas: 10x14 → Resize(8): 8x11 (int(8 * 14 / 10)) → CenterCrop(6): rows round(1.0) = 1 and
# columns round(2.5) = 2 cut off. So x_in = 11/14 x0 - 2, y_in = 8/10 y0 - 1, on input pixels 0..5.
CANVAS_ORIGINAL = (10, 14)
CANVAS_STEPS = (Resize(8), CenterCrop(6))


def bilinear_canvas(images: np.ndarray, fill: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The canvas pixel by pixel: centre mapped by hand, kept when it lands in [0, 6)², sampled bilinearly."""
    out = np.empty((len(images), *CANVAS_ORIGINAL, 3), np.uint8)
    mask = np.zeros(CANVAS_ORIGINAL, bool)
    for i in range(CANVAS_ORIGINAL[0]):
        for j in range(CANVAS_ORIGINAL[1]):
            x, y = 11 / 14 * (j + 0.5) - 2, 8 / 10 * (i + 0.5) - 1
            if not (0 <= x < 6 and 0 <= y < 6):
                out[:, i, j] = fill
                continue
            mask[i, j] = True
            sx, sy = min(max(x - 0.5, 0.0), 5.0), min(max(y - 0.5, 0.0), 5.0)
            x0, y0 = int(sx), int(sy)
            x1, y1 = min(x0 + 1, 5), min(y0 + 1, 5)
            fx, fy = sx - x0, sy - y0
            value = (
                images[:, y0, x0] * (1 - fx) * (1 - fy)
                + images[:, y0, x1] * fx * (1 - fy)
                + images[:, y1, x0] * (1 - fx) * fy
                + images[:, y1, x1] * fx * fy
            )
            out[:, i, j] = np.rint(value)
    return out, mask


class TestToOriginal(OperationTests):
    output = "report"
    report_type = Canvas
    traceable = False
    cases = (
        Case("VGG16", {"model": "VGG16"}, setup={"fill": (0, 0, 0)}),
        Case("torch-fill", {"mode": "torch", "fill": (7, 8, 9)}, setup={"fill": (7, 8, 9)}),
    )

    def inputs(self, case, data_format, batched):
        images = np.random.default_rng(17).integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
        x = forward(images if batched else images[0], spec_of(case)).astype(np.float32)
        return (to_layout(x, data_format),)

    def operation(self, case, x, *, data_format):
        return to_original(
            x,
            **case.kwargs,
            original_size=CANVAS_ORIGINAL,
            geometry=list(CANVAS_STEPS),
            data_format=data_format,
        )

    def reference(self, case, x, *, data_format):
        restored = as_uint8(inverse(channels_last(x, data_format), spec_of(case)))
        single = restored.ndim == 3
        image, mask = bilinear_canvas(restored[None] if single else restored, case.setup["fill"])
        return {"image": image[0] if single else image, "mask": mask}

    def comparable(self, out, framework):
        return {"image": out.image, "mask": out.mask}

    def assert_matches(self, actual, expected, case):
        np.testing.assert_array_equal(actual["mask"], expected["mask"])
        assert actual["image"].dtype == np.uint8
        np.testing.assert_array_equal(actual["image"], expected["image"])

    def check_report(self, out, arrays, case):
        assert out.image.dtype == np.uint8
        assert out.image.shape == (2, *CANVAS_ORIGINAL, 3)
        assert out.mask.dtype == bool
        assert out.mask.shape == CANVAS_ORIGINAL
        assert out.geometry == Geometry(CANVAS_ORIGINAL, CANVAS_STEPS)


def mae_images(batched: bool) -> np.ndarray:
    """(N, C, H, W) float32 images of 3 x 4 patches of 2 x 2: ViTMAE's own layout."""
    images = np.random.default_rng(19).normal(size=(2, 3, 6, 8)).astype(np.float32)
    return images if batched else images[0]


class TestUnpatchify(OperationTests):
    """MAE patch rows (N, L, p·p·C) → images; the data_format is the layout of the result."""

    output = "framework"
    cases = (Case("mae", dtype="float32", differentiable=True, torch_compile=True),)

    def inputs(self, case, data_format, batched):
        images = mae_images(True)
        # ViTMAE's patchify: reshape (N, C, h, p, w, p), "nchpwq->nhwpqc", reshape (N, h * w, p * p * C).
        patches = np.einsum("nchpwq->nhwpqc", images.reshape(2, 3, 3, 2, 4, 2)).reshape(2, 12, 12)
        return (patches if batched else patches[0],)

    def operation(self, case, patches, *, data_format):
        return unpatchify(patches, patch_size=2, image_size=(6, 8), data_format=data_format)

    def reference(self, case, patches, *, data_format):
        """ViTMAE's unpatchify: reshape (N, h, w, p, p, C), "nhwpqc->nchpwq", reshape (N, C, h * p, w * p)."""
        batch = np.reshape(patches, (-1, 3, 4, 2, 2, 3))
        images = np.einsum("nhwpqc->nchpwq", batch).reshape(-1, 3, 6, 8)
        images = images if np.ndim(patches) == 3 else images[0]
        return images if data_format == "channels_first" else np.moveaxis(images, -3, -1)

    def test_default_data_format(self, framework, case):
        """ViTMAE's pixel_values are channels first: so is the default, on every framework."""
        (patches,) = self.inputs(case, "channels_first", True)
        out = unpatchify(framework.tensor(patches), patch_size=2, image_size=(6, 8))
        np.testing.assert_array_equal(framework.numpy(out), mae_images(True))
