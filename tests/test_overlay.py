"""overlay: the documented formula in float64; pytorch-grad-cam bit for bit; OpenCV's JET; labels; the canvas.

The references are in overlay_reference.py: OpenCV's own JET values, and
pytorch-grad-cam's show_cam_on_image as it is written. tests/test_operations.py
runs overlay on every framework through the template.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from overlay_reference import (
    OPENCV_JET_RGB,
    blend_pixel,
    overlay_reference,
    sample_bilinear,
    show_cam_on_image,
    unit,
)

from keras_deprocess import (
    CenterCrop,
    DeprocessError,
    Geometry,
    Resize,
    image_grid,
    overlay,
    preprocess_input,
    to_original,
)
from keras_deprocess.images import demo_image
from keras_deprocess.overlays.colormaps import colormap_table, opencv_jet, voc_palette

CL = "channels_last"


def images(count: int = 2, size: tuple[int, int] = (12, 10), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, *size, 3), dtype=np.uint8)


def heatmaps(
    count: int, size: tuple[int, int], seed: int = 1, low: float = -2.0, high: float = 5.0
) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, (count, *size)).astype(np.float32)


# -- the colours ---------------------------------------------------------------------------


def test_jet_is_opencvs_table_bit_for_bit():
    np.testing.assert_array_equal(opencv_jet(), OPENCV_JET_RGB)
    assert colormap_table("jet") is opencv_jet()
    assert colormap_table("JET") is opencv_jet()


def test_a_matplotlib_colormap_is_its_float_colours_rounded():
    matplotlib = pytest.importorskip("matplotlib")
    viridis = matplotlib.colormaps["viridis"]
    expected = np.rint(np.asarray([viridis(i / 255)[:3] for i in range(256)]) * 255).astype(np.uint8)
    np.testing.assert_array_equal(colormap_table("viridis"), expected)
    np.testing.assert_array_equal(colormap_table(viridis), expected)
    # matplotlib's own jet is not OpenCV's: the name 'jet' is OpenCV's.
    assert (colormap_table(matplotlib.colormaps["jet"]) != opencv_jet()).any()


def test_colormap_errors_say_what_to_pass():
    with pytest.raises(DeprocessError, match="Did you mean 'viridis'"):
        colormap_table("viridys")
    with pytest.raises(DeprocessError, match=r"\(256, 3\) table"):
        colormap_table(np.zeros((10, 3)))
    table = np.random.default_rng(0).integers(0, 256, (256, 3))
    np.testing.assert_array_equal(colormap_table(table), table.astype(np.uint8))


def test_the_default_palette_has_256_distinct_colours():
    palette = voc_palette()
    assert palette.shape == (256, 3)
    assert len({tuple(c) for c in palette}) == 256
    assert palette[0].tolist() == [0, 0, 0]
    assert palette[15].tolist() == [192, 128, 128]  # PASCAL VOC's 'person'


# -- the default: exact, the documented formula ------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("size", [(3, 5), (12, 10), (17, 23), (1, 1)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_matches_the_float64_reference(alpha, normalize, size):
    pictures = images()
    maps = heatmaps(2, size, low=-0.2 if not normalize else -2.0, high=1.2 if not normalize else 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # normalize=False clips, and says so
        out = overlay(pictures, maps, alpha=alpha, normalize=normalize, data_format=CL)
    assert out.dtype == np.uint8
    assert out.shape == pictures.shape
    for k in range(2):
        expected = overlay_reference(pictures[k], maps[k], alpha, normalize, OPENCV_JET_RGB)
        np.testing.assert_array_equal(out[k], expected)


def test_restores_the_exact_image_first():
    photo = demo_image()[None, ::4, ::4]  # 32x32
    x = preprocess_input(photo, "VGG16", data_format=CL)
    cam = heatmaps(1, (4, 4))
    np.testing.assert_array_equal(
        overlay(x, cam, "VGG16", data_format=CL), overlay(photo, cam, data_format=CL)
    )
    # with no model the mode is detected, when that is certain, as every restore does
    np.testing.assert_array_equal(overlay(x, cam, data_format=CL), overlay(photo, cam, data_format=CL))


def test_alpha_zero_is_the_image_and_nothing_is_stretched():
    pictures = images()
    out = overlay(pictures, heatmaps(2, (3, 3)), alpha=0.0, data_format=CL)
    np.testing.assert_array_equal(out, pictures)
    grey = np.full((1, 4, 4, 3), 100, np.uint8)
    out = overlay(grey, np.zeros((4, 4)), alpha=1.0, data_format=CL)  # a constant heatmap → index 0
    assert (out == OPENCV_JET_RGB[0]).all()


def test_normalize_false_clips_counts_and_warns():
    heat = np.array([[-0.5, 0.25], [0.75, 1.5]])
    with pytest.warns(UserWarning, match="2 of 4 heatmap values were outside") as caught:
        out = overlay(np.zeros((4, 4, 3), np.uint8), heat, normalize=False, alpha=1.0, data_format=CL)
    assert caught[0].filename == __file__  # the caller's line
    expected = overlay_reference(np.zeros((4, 4, 3), np.uint8), heat, 1.0, False, OPENCV_JET_RGB)
    np.testing.assert_array_equal(out, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        overlay(np.zeros((4, 4, 3), np.uint8), np.clip(heat, 0, 1), normalize=False, data_format=CL)


def test_normalize_is_each_heatmaps_own_min_max():
    pictures = images()
    maps = np.stack([heatmaps(1, (3, 3))[0], 100 * heatmaps(1, (3, 3))[0] + 7])
    out = overlay(pictures, maps, data_format=CL)
    np.testing.assert_array_equal(out[0], overlay(pictures[:1], maps[:1], data_format=CL)[0])
    np.testing.assert_array_equal(
        out[1],
        overlay(pictures[1:], (maps[1:] - maps[1].min()) / np.ptp(maps[1]), normalize=False, data_format=CL)[
            0
        ],
    )


@pytest.mark.parametrize("size", [(3, 5), (29, 31)], ids=["up", "down"])
def test_the_resampling_is_torchs_bilinear_with_half_pixel_centres(size):
    torch = pytest.importorskip("torch")
    heat = np.random.default_rng(7).uniform(0, 1, (1, *size))
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # index i is the colour (i, i, i)
    out = overlay(
        np.zeros((12, 10, 3), np.uint8), heat[0], alpha=1.0, normalize=False, colormap=grey, data_format=CL
    )
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(heat)[None], size=(12, 10), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_array_equal(out[..., 0], np.rint(255 * theirs).astype(np.uint8))


# -- shapes: heatmaps and images paired ---------------------------------------------------------


def test_heatmap_shapes_and_pairings():
    pictures = images(3)
    maps = heatmaps(3, (4, 4))
    batch = overlay(pictures, maps, data_format=CL)
    np.testing.assert_array_equal(overlay(pictures, maps[:, None], data_format=CL), batch)  # (N, 1, h, w)
    one = overlay(pictures[0], maps[0], data_format=CL)
    assert one.shape == (12, 10, 3)
    np.testing.assert_array_equal(one, batch[0])
    shared = overlay(pictures, maps[0], data_format=CL)  # one heatmap for every image
    for k in range(3):
        np.testing.assert_array_equal(shared[k], overlay(pictures[k], maps[0], data_format=CL))
    several = overlay(pictures[0], maps, data_format=CL)  # one image, a heatmap per class
    assert several.shape == (3, 12, 10, 3)
    np.testing.assert_array_equal(several[2], overlay(pictures[0], maps[2], data_format=CL))
    chw = np.ascontiguousarray(pictures.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(overlay(chw, maps, data_format="channels_first"), batch)


def test_shape_errors_say_what_to_pass():
    pictures = images(3)
    with pytest.raises(DeprocessError, match=r"3 images and 2 heatmaps"):
        overlay(pictures, heatmaps(2, (4, 4)), data_format=CL)
    with pytest.raises(DeprocessError, match=r"heatmap\[\.\.\., 0\]"):
        overlay(pictures, heatmaps(3, (4, 4))[..., None], data_format=CL)
    with pytest.raises(DeprocessError, match="Reduce the channels"):
        overlay(pictures, np.zeros((3, 2, 4, 4)), data_format=CL)
    bad = heatmaps(3, (4, 4))
    bad[1, 2, 3] = np.nan
    with pytest.raises(DeprocessError, match="1 NaN"):
        overlay(pictures, bad, data_format=CL)
    with pytest.raises(DeprocessError, match=r"`alpha` to be a number in \[0, 1\]"):
        overlay(pictures, heatmaps(3, (4, 4)), alpha=1.5, data_format=CL)
    with pytest.raises(DeprocessError, match="uint8 images or preprocessed float images"):
        overlay(pictures.astype(np.int32), heatmaps(3, (4, 4)), data_format=CL)
    with pytest.raises(DeprocessError, match="`compat` to be None"):
        overlay(pictures, heatmaps(3, (4, 4)), compat="captum", data_format=CL)


# -- pytorch-grad-cam, bit for bit -----------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 0.25, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compat_is_show_cam_on_image_bit_for_bit(alpha, dtype):
    pictures = images(3, size=(24, 20), seed=5)
    masks = np.random.default_rng(6).uniform(0, 1, (3, 24, 20)).astype(dtype)
    masks[0, :2, :2] = [[0.0, 1.0], [1 / 255, 254.5 / 255]]  # the ends, and values on truncation edges
    out = overlay(pictures, masks, alpha=alpha, compat="pytorch-grad-cam", data_format=CL)
    for k in range(3):
        img = np.float32(pictures[k]) / 255  # the exact image, as pytorch-grad-cam takes it
        expected = show_cam_on_image(img, masks[k], use_rgb=True, image_weight=1 - alpha)
        np.testing.assert_array_equal(out[k], expected)


def test_compat_restores_then_blends_like_pytorch_grad_cam():
    photo = demo_image()[None, ::4, ::4]
    x = preprocess_input(
        np.ascontiguousarray(photo.transpose(0, 3, 1, 2)), "imagenet", data_format="channels_first"
    )
    mask = np.random.default_rng(2).uniform(0, 1, (32, 32)).astype(np.float32)
    out = overlay(x, mask[None], "imagenet", compat="pytorch-grad-cam", data_format="channels_first")
    expected = show_cam_on_image(np.float32(photo[0]) / 255, mask, use_rgb=True, image_weight=0.5)
    np.testing.assert_array_equal(out[0], expected)
    # the default differs by the truncations and the stretch to the brightest channel, a few levels
    default = overlay(x, mask[None], "imagenet", normalize=False, data_format="channels_first")
    difference = np.abs(default.astype(int) - out.astype(int))
    assert 0 < difference.max() <= 64
    assert difference.mean() < 8


def test_compat_resamples_a_small_heatmap_to_the_image_first():
    pictures = images(1, size=(16, 16))
    cam = np.random.default_rng(3).uniform(0, 1, (1, 4, 4)).astype(np.float32)
    out = overlay(pictures, cam, alpha=0.4, compat="pytorch-grad-cam", data_format=CL)
    mask = np.array(
        [
            [
                sample_bilinear(cam[0].astype(np.float64), (i + 0.5) * 4 / 16, (j + 0.5) * 4 / 16)
                for j in range(16)
            ]
            for i in range(16)
        ]
    ).astype(np.float32)
    expected = show_cam_on_image(np.float32(pictures[0]) / 255, mask, use_rgb=True, image_weight=1 - 0.4)
    np.testing.assert_array_equal(out[0], expected)


def test_compat_refuses_what_pytorch_grad_cam_would_wrap():
    with pytest.raises(DeprocessError, match="wraps around"):
        overlay(images(1), np.full((12, 10), 1.01), compat="pytorch-grad-cam", data_format=CL)
    with pytest.raises(DeprocessError, match="colormap='jet'"):
        overlay(images(1), np.zeros((12, 10)), compat="pytorch-grad-cam", colormap="viridis", data_format=CL)


# -- label maps --------------------------------------------------------------------------------


def test_label_maps_take_the_palette_at_the_nearest_label():
    pictures = images(2, size=(8, 6))
    labels = np.random.default_rng(4).integers(0, 6, (2, 3, 4))
    out = overlay(pictures, labels, alpha=0.6, data_format=CL)
    palette = voc_palette()
    for k in range(2):
        for i in range(8):
            for j in range(6):
                label = labels[
                    k, min(int(np.floor((i + 0.5) * 3 / 8)), 2), min(int(np.floor((j + 0.5) * 4 / 6)), 3)
                ]
                np.testing.assert_array_equal(
                    out[k, i, j], blend_pixel(pictures[k, i, j], palette[label], 0.6)
                )


def test_a_palette_mapping_can_leave_labels_undrawn():
    pictures = images(1, size=(4, 4))
    labels = np.array([[0, 1], [1, 0]])
    out = overlay(pictures[0], labels, palette={0: None, 1: (255, 0, 0)}, alpha=1.0, data_format=CL)
    np.testing.assert_array_equal(out[:2, :2], pictures[0, :2, :2])  # label 0: the image as it is
    assert (out[:2, 2:] == [255, 0, 0]).all()
    with pytest.raises(DeprocessError, match=r"without label\(s\) \[1\]"):
        overlay(pictures[0], labels, palette={0: (1, 2, 3)}, data_format=CL)
    with pytest.raises(DeprocessError, match="largest label is 1"):
        overlay(pictures[0], labels, palette=[(1, 2, 3)], data_format=CL)
    with pytest.raises(DeprocessError, match="integer label map with `palette`"):
        overlay(pictures[0], labels.astype(float), palette=[(1, 2, 3)], data_format=CL)


# -- on the original picture -------------------------------------------------------------------

# 10x14 → Resize(8): 8x11 (int(8 * 14 / 10)) → CenterCrop(6): x_in = 11/14 x0 - 2, y_in = 8/10 y0 - 1.
ORIGINAL = (10, 14)
STEPS = [Resize(8), CenterCrop(6)]


def test_on_the_original_picture_the_heatmap_goes_through_the_geometry():
    inputs = images(2, size=(6, 6), seed=8)
    x = preprocess_input(inputs, "caffe", data_format=CL)
    cam = heatmaps(2, (3, 3), seed=9)
    out = overlay(x, cam, "caffe", original_size=ORIGINAL, geometry=STEPS, alpha=0.4, data_format=CL)
    canvas = to_original(x, "caffe", original_size=ORIGINAL, geometry=STEPS, data_format=CL)
    assert out.shape == (2, *ORIGINAL, 3)
    for k in range(2):
        t = unit(cam[k], True)
        for i in range(ORIGINAL[0]):
            for j in range(ORIGINAL[1]):
                x_in, y_in = 11 / 14 * (j + 0.5) - 2, 8 / 10 * (i + 0.5) - 1
                if not (0 <= x_in < 6 and 0 <= y_in < 6):  # the model never saw it: left as it is
                    np.testing.assert_array_equal(out[k, i, j], canvas.image[k, i, j])
                    continue
                value = sample_bilinear(t, y_in * 3 / 6, x_in * 3 / 6)
                colour = OPENCV_JET_RGB[int(np.rint(255 * value))]
                np.testing.assert_array_equal(out[k, i, j], blend_pixel(canvas.image[k, i, j], colour, 0.4))


def test_on_the_original_picture_from_uint8_inputs_with_the_photo_around():
    photo = images(1, size=ORIGINAL, seed=10)[0]
    inputs = images(1, size=(6, 6), seed=11)
    cam = heatmaps(1, (6, 6), seed=12)
    geometry = Geometry(ORIGINAL, tuple(STEPS))
    out = overlay(inputs, cam, geometry=geometry, fill=photo, data_format=CL)
    x = preprocess_input(inputs, "tf", data_format=CL)
    np.testing.assert_array_equal(out, overlay(x, cam, "tf", geometry=geometry, fill=photo, data_format=CL))
    mask = geometry.mask()
    np.testing.assert_array_equal(out[0][~mask], photo[~mask])  # the photo itself where the model saw nothing


def test_a_torchvision_like_handle_carries_the_geometry():
    torch = pytest.importorskip("torch")
    from torchvision_like import CenterCrop as TvCenterCrop
    from torchvision_like import Compose, Normalize, ToTensor
    from torchvision_like import Resize as TvResize

    pipeline = Compose(
        [TvResize(8), TvCenterCrop(6), ToTensor(), Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    )
    inputs = images(1, size=(6, 6), seed=13)
    x = torch.from_numpy(preprocess_input(inputs, "imagenet", data_format=CL)).permute(0, 3, 1, 2)
    cam = torch.from_numpy(heatmaps(1, (2, 2), seed=14))
    out = overlay(x, cam, pipeline, original_size=ORIGINAL)
    expected = overlay(inputs, cam.numpy(), geometry=STEPS, original_size=ORIGINAL, data_format=CL)
    np.testing.assert_array_equal(out, expected)


def test_compat_stays_on_the_models_input():
    with pytest.raises(DeprocessError, match="draws on the model's input"):
        overlay(
            images(1, size=(6, 6)),
            np.zeros((6, 6)),
            compat="pytorch-grad-cam",
            original_size=ORIGINAL,
            geometry=STEPS,
            data_format=CL,
        )


# -- for people -------------------------------------------------------------------------------


def test_the_output_goes_to_grids_and_pil():
    from PIL import Image

    out = overlay(images(3), heatmaps(3, (3, 3)), data_format=CL)
    assert out.flags.c_contiguous
    assert image_grid(out, data_format=CL).shape == (16, 38, 3)
    assert Image.fromarray(out[0]).size == (10, 12)
