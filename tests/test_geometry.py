"""Geometry: every step and handle against its library's forward pass, pixel for pixel.

For each step and handle, an index image of the original goes through the
forward pass as the library writes it (`geometry_reference`, `torchvision_like`,
or the real Keras and keras_hub layers):

- resized nearest-exact, every input pixel shows one original pixel: its
  centre, mapped back by `Geometry.to_original`, must fall inside that
  pixel, and padding must lie outside `content` (the one-hot test);
- followed stage by stage (a resize scales centres by its own output size,
  a crop or pad moves whole pixels), every original centre lands where
  `Geometry.to_input` puts it, and the mask is exactly the centres that
  survive the forward crops and pads.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import geometry_reference as ref  # noqa: E402
import torchvision_like as T  # noqa: E402

from keras_deprocess import (  # noqa: E402
    CenterCrop,
    DeprocessError,
    Geometry,
    Letterbox,
    Pad,
    Resize,
    geometry_for,
    get_spec,
)
from keras_deprocess.geometry.steps import TrimBorder  # noqa: E402

SIZES = [(300, 420), (421, 300), (37, 53), (224, 224), (200, 199), (97, 640)]

# -- the two checks ---------------------------------------------------------------------------------


def assert_one_hot(geometry: Geometry, input_ids: np.ndarray) -> None:
    """Each input pixel's centre maps back into the original pixel it shows; padding lies outside content."""
    height, width = input_ids.shape
    assert (height, width) == geometry.input_size
    ky, kx = np.mgrid[0:height, 0:width] + 0.5
    x0, y0, x1, y1 = geometry.content
    inside = (kx >= x0) & (kx < x1) & (ky >= y0) & (ky < y1)
    np.testing.assert_array_equal(input_ids > 0, inside)
    back = geometry.to_original(np.stack([kx[inside], ky[inside]], -1))
    row, column = np.divmod(input_ids[inside].astype(np.int64) - 1, geometry.original_size[1])
    eps = 1e-6
    assert np.all((back[:, 0] >= column - eps) & (back[:, 0] < column + 1 + eps))
    assert np.all((back[:, 1] >= row - eps) & (back[:, 1] < row + 1 + eps))


def assert_centres(geometry: Geometry, stages) -> None:
    """Original centres land where the forward pass puts them; the mask is the ones that survive."""
    ys, xs = ref.centres_through(geometry.original_size, stages)
    height, width = geometry.input_size
    seen_y = np.isfinite(ys) & (ys >= 0) & (ys < height)
    seen_x = np.isfinite(xs) & (xs >= 0) & (xs < width)
    np.testing.assert_array_equal(geometry.mask(), np.outer(seen_y, seen_x))
    rows = np.arange(geometry.original_size[0])[seen_y] + 0.5
    columns = np.arange(geometry.original_size[1])[seen_x] + 0.5
    if len(rows) and len(columns):
        mapped = geometry.to_input(np.stack(np.broadcast_arrays(columns[:, None], rows[None, :]), -1))
        np.testing.assert_allclose(
            mapped[..., 0], np.broadcast_to(xs[seen_x][:, None], mapped.shape[:2]), atol=1e-9
        )
        np.testing.assert_allclose(
            mapped[..., 1], np.broadcast_to(ys[seen_y][None, :], mapped.shape[:2]), atol=1e-9
        )


def check(geometry: Geometry, stages, nearest_stages=None) -> None:
    """Both checks; `nearest_stages` are the same stages resizing nearest-exact (default: `stages`)."""
    assert_one_hot(geometry, ref.one_hot_input(geometry.original_size, nearest_stages or stages))
    assert_centres(geometry, stages)


def nearest_exact(chw, size):
    return T.resize_tensor(chw, size, T.InterpolationMode.NEAREST_EXACT)


def tv_stages(steps):
    """torchvision-like steps → (kind, forward) stages, resizes nearest-exact for index images."""
    stages = []
    for step in steps:
        if isinstance(step, (T.Resize, ref.ResizeKeepRatio)):
            stages.append(("resize", ref.nearest(step)))
        else:
            if isinstance(step, ref.CenterCropOrPad):
                step.fill = 0  # timm's border fill is the mean: index images pad with 0
            stages.append(("move", step))
    return stages


# -- the hand-computed integers of each convention -------------------------------------------------


def test_torchvision_crop_offsets_round_half_to_even():
    offsets = [-CenterCrop(10).place(10 + d, 10 + d)[1].offset for d in range(9)]
    assert offsets == [0, 0, 1, 2, 2, 2, 3, 4, 4]
    floors = [-CenterCrop(10, convention="huggingface").place(10, 10 + d)[1].offset for d in range(9)]
    assert floors == [0, 0, 1, 1, 2, 2, 3, 3, 4]


def test_a_larger_crop_pads_the_odd_pixel_on_the_library_s_side():
    assert CenterCrop(8).place(5, 5)[0].offset == 1  # torchvision: (8 - 5) // 2 before, 2 after
    assert CenterCrop(8, convention="huggingface-fast").place(5, 5)[0].offset == 1
    assert CenterCrop(8, convention="huggingface").place(5, 5)[0].offset == 2  # slow: ceil, odd pixel before


def test_resize_sizes():
    assert [m.size for m in Resize(256).place(300, 420)] == [256, 358]  # int(256 * 420 / 300)
    assert [m.size for m in Resize(256, max_size=300).place(300, 420)] == [214, 300]  # int(300 * 256 / 358)
    assert [m.size for m in Resize(None, max_size=320).place(300, 420)] == [228, 320]
    assert [m.size for m in Resize((20, 30)).place(300, 420)] == [20, 30]


def test_keep_ratio_sizes_round_half_to_even():
    """open_clip's notes' examples (ResizeKeepRatio, longest=1 and 0)."""
    fit = Resize((224, 224), longest=1.0)
    assert [m.size for m in fit.place(480, 640)] == [168, 224]
    assert [m.size for m in fit.place(333, 500)] == [149, 224]
    assert [m.size for m in fit.place(225, 301)] == [167, 224]
    cover = Resize((224, 256), longest=0.0)
    assert [m.size for m in cover.place(480, 640)] == [224, 299]
    assert [m.size for m in cover.place(101, 100)] == [259, 256]


def test_letterbox_splits_with_the_tenth():
    rows, columns = Letterbox(640).place(300, 420)
    assert (rows.size, rows.offset, columns.size, columns.offset) == (640, 91, 640, 0)  # 183 rows: 91 + 92
    rows, _ = Letterbox(640, center=False).place(300, 420)
    assert rows.offset == 0
    rows, columns = Letterbox(640, auto=True).place(300, 420)
    assert (rows.size, columns.size) == (480, 640)  # 457 + 23 (183 % 32), padded 11 + 12
    assert rows.offset == 11


def test_keras_pad_to_aspect_ratio_leaves_the_canvas_one_short():
    rows, columns = Resize((10, 10), pad_to_aspect_ratio=True).place(5, 10)
    # pad_h = 10, start = int(5 / 2) = 2 on both sides: a canvas of 9 rows, stretched to 10.
    assert (rows.scale, rows.offset) == (Fraction(10, 9), Fraction(20, 9))
    assert (columns.scale, columns.offset) == (1, 0)


def test_keras_float32_arithmetic_is_tensorflow_s():
    tf = pytest.importorskip("tensorflow")
    from keras_deprocess.geometry.steps import _keras_divide

    cases = [(18263, 951, 317), (18279, 1910, 677), (15173, 1271, 135), (300, 224, 224), (420, 224, 300)]
    for width, target_h, target_w in cases:
        theirs = int(tf.cast(tf.cast(width * target_h, "float32") / target_w, "int32"))
        assert _keras_divide(width * target_h, target_w, True) == theirs
    assert _keras_divide(18263 * 951, 317, True) != _keras_divide(18263 * 951, 317, False)


# -- the references themselves: resizes sample at half-pixel centres ---------------------------------


def test_nearest_exact_is_half_pixel_in_torch_tensorflow_and_pil():
    tf = pytest.importorskip("tensorflow")
    from PIL import Image

    source = np.arange(7 * 11, dtype=np.float64).reshape(7, 11)
    for height, width in [(3, 5), (7, 11), (16, 9), (20, 30)]:
        rows = np.floor((np.arange(height) + 0.5) * 7 / height).astype(int)
        columns = np.floor((np.arange(width) + 0.5) * 11 / width).astype(int)
        expected = source[rows][:, columns]
        torch_out = nearest_exact(torch.from_numpy(source)[None], (height, width))[0].numpy()
        np.testing.assert_array_equal(torch_out, expected)
        tf_out = tf.image.resize(source[..., None], (height, width), method="nearest")[..., 0].numpy()
        np.testing.assert_array_equal(tf_out, expected)
        pil = Image.fromarray(source.astype(np.int32)).resize((width, height), Image.Resampling.NEAREST)
        np.testing.assert_array_equal(np.asarray(pil), expected)


# -- torchvision --------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "steps",
    [
        lambda: [T.Resize(256), T.CenterCrop(224)],
        lambda: [T.Resize(64), T.CenterCrop((50, 70))],
        lambda: [T.Resize(100, max_size=120), T.CenterCrop(90)],
        lambda: [T.Resize((90, 130)), T.Pad(3), T.CenterCrop((80, 150))],
        lambda: [T.CenterCrop(231), T.Pad((4, 1, 0, 7))],
        lambda: [T.Resize(None, max_size=200), T.Pad((5, 2))],
    ],
    ids=["imagenet", "rect-crop", "max-size", "pad-then-crop", "crop-larger", "v2-max-size"],
)
def test_torchvision_compose(steps, size):
    pipeline = T.Compose([*steps(), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    geometry = geometry_for(pipeline, size)
    check(geometry, tv_stages(pipeline.transforms[:-2]))


@pytest.mark.parametrize("size", SIZES)
def test_torchvision_image_classification_preset(size):
    preset = T.ImageClassification(crop_size=224, resize_size=232)
    geometry = geometry_for(preset, size)
    assert geometry.steps == (Resize(232), CenterCrop(224))
    check(geometry, tv_stages([T.Resize(232), T.CenterCrop(224)]))
    assert get_spec(preset).same_as(get_spec("imagenet"))


@pytest.mark.parametrize(
    ("step", "name"),
    [
        (T.RandomResizedCrop(224), "RandomResizedCrop"),
        (T.RandomHorizontalFlip(), "RandomHorizontalFlip"),
        (T.Lambda(lambda x: x), "Lambda"),
    ],
)
def test_random_and_opaque_steps_are_refused_by_name(step, name):
    pipeline = T.Compose([T.Resize(256), step, T.ToTensor()])
    with pytest.raises(DeprocessError, match=rf"Cannot place the {name} step of the Compose.*Pass geometry="):
        geometry_for(pipeline, (300, 400))


# -- timm and open_clip -------------------------------------------------------------------------------

TIMM = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "config",
    [
        {"input_size": (3, 224, 224), "crop_pct": 0.875, "crop_mode": "center"},
        {"input_size": (3, 224, 224), "crop_pct": 0.9},
        {"input_size": (3, 192, 256), "crop_pct": 0.95, "crop_mode": "center"},
        {"input_size": (3, 224, 224), "crop_pct": 1.0, "crop_mode": "squash"},
        {"input_size": (3, 160, 224), "crop_pct": 0.9, "crop_mode": "squash"},
        {"input_size": (3, 224, 224), "crop_pct": 1.0, "crop_mode": "border"},
        {"input_size": (3, 200, 240), "crop_pct": 0.875, "crop_mode": "border"},
        {"input_size": (3, 384, 384), "crop_pct": None},
    ],
    ids=[
        "center",
        "crop-pct-0.9",
        "center-rect",
        "squash",
        "squash-rect",
        "border",
        "border-rect",
        "default",
    ],
)
def test_timm_data_config(config, size):
    config = {**TIMM, **config}
    geometry = geometry_for(config, size)
    check(geometry, tv_stages(ref.timm_eval_transform(config)))


def test_timm_model_pretrained_cfg():
    class VisionTransformer:
        pretrained_cfg: ClassVar = {
            **TIMM,
            "input_size": (3, 224, 224),
            "crop_pct": 0.9,
            "architecture": "vit",
        }

    assert geometry_for(VisionTransformer(), (300, 400)) == geometry_for(
        VisionTransformer.pretrained_cfg, (300, 400)
    )


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "steps",
    [
        lambda: [ref.ResizeKeepRatio((224, 224), longest=1), ref.CenterCropOrPad((224, 224))],  # 'longest'
        lambda: [ref.ResizeKeepRatio((192, 256)), T.CenterCrop((192, 256))],  # 'shortest', not square
        lambda: [ref.TrimBorder(3), T.Resize(64), T.CenterCrop(64)],
    ],
    ids=["open-clip-longest", "open-clip-shortest-rect", "timm-trim-border"],
)
def test_open_clip_and_timm_transforms(steps, size):
    pipeline = T.Compose([*steps(), T.ToTensor()])
    geometry = geometry_for(pipeline, size)
    check(geometry, tv_stages(pipeline.transforms[:-1]))


def test_timm_trim_border_clips_left_with_the_height():
    rows, columns = TrimBorder(30).place(20, 100)
    assert (columns.offset, rows.offset) == (-20, -20)  # min(30, h) for both, as timm writes it


def test_random_resize_keep_ratio_is_refused():
    step = ref.ResizeKeepRatio(224)
    step.random_scale_prob = 0.5
    with pytest.raises(DeprocessError, match="resizes at random"):
        geometry_for(T.Compose([step]), (300, 400))


# -- Hugging Face -------------------------------------------------------------------------------------

CLIP_CONFIG = {
    "do_resize": True,
    "size": {"shortest_edge": 224},
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_std": [0.26862954, 0.26130258, 0.27577711],
}


def processor(name, config, bases=()):
    """A duck-typed processor of class `name` with `config` as attributes."""
    cls = type(name, bases, {})
    obj = cls()
    for key, value in config.items():
        setattr(obj, key, value)
    return obj


class BaseImageProcessorFast:
    pass


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    ("config", "fast"),
    [
        (CLIP_CONFIG, False),
        (CLIP_CONFIG, True),
        ({**CLIP_CONFIG, "size": {"shortest_edge": 101}, "crop_size": {"height": 90, "width": 123}}, False),
        ({**CLIP_CONFIG, "size": {"shortest_edge": 101}, "crop_size": {"height": 90, "width": 123}}, True),
        (
            {
                **CLIP_CONFIG,
                "size": {"height": 200, "width": 180},
                "crop_size": {"height": 205, "width": 153},
            },
            False,
        ),
        (
            {
                **CLIP_CONFIG,
                "size": {"height": 200, "width": 180},
                "crop_size": {"height": 205, "width": 153},
            },
            True,
        ),
        ({**CLIP_CONFIG, "size": {"height": 224, "width": 224}, "do_center_crop": False}, False),
        ({**CLIP_CONFIG, "size": {"shortest_edge": 224}, "crop_pct": 0.875, "do_center_crop": False}, False),
        (
            {
                **CLIP_CONFIG,
                "do_center_crop": False,
                "do_pad": True,
                "pad_size": {"height": 1500, "width": 1500},
            },
            False,
        ),
    ],
    ids=[
        "clip",
        "clip-fast",
        "odd-crop",
        "odd-crop-fast",
        "crop-larger",
        "crop-larger-fast",
        "vit",
        "convnext",
        "pad",
    ],
)
def test_hugging_face_processor(config, fast, size):
    name = "ConvNextImageProcessor" if "crop_pct" in config else "CLIPImageProcessor"
    obj = processor(name + "Fast", config, (BaseImageProcessorFast,)) if fast else processor(name, config)
    geometry = geometry_for(obj, size)
    stages = ref.hf_steps(config, fast=fast, mode="nearest-exact")
    check(geometry, stages)
    if not fast:
        assert geometry_for({**config, "image_processor_type": name}, size) == geometry


def test_hugging_face_fast_processors_before_4_57_rounded_half_to_even(monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(__version__="4.56.2"))
    obj = processor("CLIPImageProcessorFast", CLIP_CONFIG, (BaseImageProcessorFast,))
    assert geometry_for(obj, (300, 400)).steps[-1].convention == "torchvision"
    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(__version__="4.57.0"))
    assert geometry_for(obj, (300, 400)).steps[-1].convention == "huggingface-fast"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"size": 224, "do_resize": True}, "as a dict"),
        ({"size": {"shortest_edge": 800, "longest_edge": 1333}}, "differ across processors"),
        (
            {
                "size": {"shortest_edge": 3136, "longest_edge": 12845056},
                "merge_size": 2,
                "temporal_patch_size": 2,
            },
            "pixel budget",
        ),
        ({**CLIP_CONFIG, "do_pad": True}, "pads to the batch"),
        ({"do_resize": True, "image_mean": [0.5] * 3, "image_std": [0.5] * 3}, "Expected `size`"),
    ],
    ids=["int-size", "detr", "qwen2-vl", "pad-to-batch", "no-size"],
)
def test_hugging_face_settings_with_unknown_sizes_are_refused(config, match):
    with pytest.raises(DeprocessError, match=match):
        geometry_for({**TIMM_FREE, **config}, (300, 400))


TIMM_FREE = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}


def test_hugging_face_wrapper_is_unwrapped():
    inner = processor("CLIPImageProcessor", CLIP_CONFIG)
    outer = processor("CLIPProcessor", {"image_processor": inner})
    assert geometry_for(outer, (300, 400)) == geometry_for(inner, (300, 400))


# -- ultralytics -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "options",
    [
        {"new_shape": 640},
        {"new_shape": (320, 480)},
        {"new_shape": 640, "auto": True},
        {"new_shape": 640, "center": False},
        {"new_shape": 256, "scaleup": False},
        {"new_shape": (256, 200), "scale_fill": True},
    ],
    ids=["square", "rect", "auto", "top-left", "no-scaleup", "scale-fill"],
)
def test_letterbox(options, size):
    geometry = geometry_for(Letterbox(**options), size)
    resize, pad = (stage[1] for stage in ref.letterbox_stages(options, mode="nearest-exact"))
    stages = [("resize", resize), ("move", lambda x: pad(x, size))]
    check(geometry, stages)


# -- Keras and keras_hub (the real layers) ----------------------------------------------------------------


def keras_run(keras, layers, image):
    """A (H, W) float image through real Keras layers, channels last, as float64."""
    x = np.asarray(image, np.float32)[None, ..., None]
    for layer in layers:
        x = layer(x)
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64)[0, ..., 0]


def keras_stage(keras, layer):
    """A Keras layer as a forward stage on (1, H, W) float64 tensors."""
    return lambda chw: torch.from_numpy(keras_run(keras, [layer], chw[0].numpy()))[None]


def assert_ramps(geometry: Geometry, ramp_x: np.ndarray, ramp_y: np.ndarray) -> None:
    """Bilinear resizing of a linear ramp is exact: inside the picture, each input pixel holds the original
    coordinate its centre maps back to (away from the edges, where the sampling clamps)."""
    height, width = geometry.input_size
    ky, kx = np.mgrid[0:height, 0:width] + 0.5
    back = geometry.to_original(np.stack([kx, ky], -1))
    h0, w0 = geometry.original_size
    inner = (
        (back[..., 0] > 1.5) & (back[..., 0] < w0 - 1.5) & (back[..., 1] > 1.5) & (back[..., 1] < h0 - 1.5)
    )
    x0, y0, x1, y1 = geometry.content
    inner &= (kx > x0 + 1) & (kx < x1 - 1) & (ky > y0 + 1) & (ky < y1 - 1)
    assert inner.sum() > 0.3 * inner.size
    np.testing.assert_allclose(ramp_x[inner], back[..., 0][inner], atol=2e-3)
    np.testing.assert_allclose(ramp_y[inner], back[..., 1][inner], atol=2e-3)


@pytest.mark.parametrize("size", [(300, 420), (421, 300), (37, 53), (61, 61)])
@pytest.mark.parametrize(
    "make",
    [
        lambda k, mode: [k.layers.Resizing(60, 80, interpolation=mode)],
        lambda k, mode: [k.layers.Resizing(60, 80, interpolation=mode, crop_to_aspect_ratio=True)],
        lambda k, mode: [k.layers.Resizing(60, 80, interpolation=mode, pad_to_aspect_ratio=True)],
        lambda k, mode: [k.layers.CenterCrop(30, 41)],
        lambda k, mode: [k.layers.CenterCrop(60, 70)],
        lambda k, mode: [k.layers.Resizing(100, 90, interpolation=mode), k.layers.CenterCrop(80, 80)],
    ],
    ids=[
        "resizing",
        "crop-to-aspect",
        "pad-to-aspect",
        "center-crop",
        "center-crop-or-resize",
        "resize-crop",
    ],
)
def test_keras_layers(keras_module, make, size):
    keras = keras_module
    layers = make(keras, "nearest")
    model = keras.Sequential([keras.Input((None, None, 1)), keras.layers.Rescaling(1.0), *layers])
    geometry = geometry_for(model, size)
    # Keras's CenterCrop resizes (bilinear) an input smaller than the crop: no one-hot image then.
    resizes_inside = any(
        isinstance(layer, keras.layers.CenterCrop) and (layer.height > size[0] or layer.width > size[1])
        for layer in layers
    )
    ids = np.rint(keras_run(keras, layers, ref.index_image(*size)[0].numpy()))
    if not resizes_inside:
        assert_one_hot(geometry, ids)
    bilinear = make(keras, "bilinear")
    rows, columns = np.mgrid[0 : size[0], 0 : size[1]] + 0.5
    assert_ramps(geometry, keras_run(keras, bilinear, columns), keras_run(keras, bilinear, rows))
    # The mask: followed stage by stage where the layers are plain resizes and crops, else (one
    # Resizing that crops or pads to the aspect ratio first, then enlarges) every pixel seen shows.
    plain = not resizes_inside and all(
        isinstance(layer, keras.layers.CenterCrop)
        or not (layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio)
        for layer in layers
    )
    if plain:
        stages = [
            ("move" if isinstance(layer, keras.layers.CenterCrop) else "resize", keras_stage(keras, layer))
            for layer in layers
        ]
        assert_centres(geometry, stages)
    elif all(o >= i for o, i in zip(geometry.input_size, size, strict=True)) and not resizes_inside:
        seen = np.zeros(size[0] * size[1] + 1, bool)
        seen[ids.astype(np.int64).ravel()] = True
        np.testing.assert_array_equal(geometry.mask(), seen[1:].reshape(size))


@pytest.mark.parametrize("size", [(300, 420), (37, 53)])
@pytest.mark.parametrize(
    "options",
    [
        {"crop_to_aspect_ratio": True},
        {"crop_to_aspect_ratio": False},
        {"pad_to_aspect_ratio": True, "crop_to_aspect_ratio": False},
    ],
    ids=["crop", "stretch", "pad"],
)
def test_keras_hub_image_converter(keras_module, options, size):
    keras_hub = pytest.importorskip("keras_hub")
    converter = keras_hub.layers.ImageConverter(image_size=(64, 48), interpolation="nearest", **options)
    geometry = geometry_for(converter, size)
    assert_one_hot(geometry, np.rint(keras_run(keras_module, [converter], ref.index_image(*size)[0].numpy())))


def test_keras_random_layers_are_refused_by_name(keras_module):
    keras = keras_module
    model = keras.Sequential(
        [keras.Input((None, None, 3)), keras.layers.RandomFlip(), keras.layers.Resizing(8, 8)]
    )
    with pytest.raises(DeprocessError, match=r"RandomFlip.*moves pixels at random.*geometry="):
        geometry_for(model, (30, 40))


def test_an_image_converter_with_its_own_resizing_is_refused():
    class ImageConverter:
        image_size = (8, 8)

    class Qwen3_5ImageConverter(ImageConverter):  # keras_hub's name
        def call(self, x):
            return x

    with pytest.raises(DeprocessError, match="Qwen3_5ImageConverter: it resizes with its own rules"):
        geometry_for(Qwen3_5ImageConverter(), (30, 40))


# -- composition, round trips, errors -------------------------------------------------------------------

STEP = st.one_of(
    st.builds(Resize, st.integers(8, 300)),
    st.builds(Resize, st.tuples(st.integers(8, 300), st.integers(8, 300))),
    st.builds(
        Resize, st.tuples(st.integers(8, 300), st.integers(8, 300)), longest=st.sampled_from([0.0, 0.5, 1.0])
    ),
    st.builds(
        Resize,
        st.tuples(st.integers(8, 300), st.integers(8, 300)),
        crop_to_aspect_ratio=st.booleans(),
    ),
    st.builds(
        Resize,
        st.tuples(st.integers(8, 300), st.integers(8, 300)),
        pad_to_aspect_ratio=st.just(True),
    ),
    st.builds(
        CenterCrop,
        st.integers(4, 300),
        convention=st.sampled_from(["torchvision", "huggingface", "huggingface-fast", "keras"]),
    ),
    st.builds(Pad, st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9), st.integers(0, 9))),
    st.builds(Letterbox, st.integers(16, 320), auto=st.booleans(), center=st.booleans()),
)


@settings(max_examples=150, deadline=None)
@given(
    original=st.tuples(st.integers(1, 2000), st.integers(1, 2000)),
    steps=st.lists(STEP, min_size=0, max_size=4),
    points=st.lists(st.tuples(st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)), min_size=1, max_size=8),
)
def test_round_trips_within_1e_9(original, steps, points):
    try:
        geometry = Geometry(original, tuple(steps))
    except DeprocessError as error:  # a step that leaves no pixel (timm's round to 0, a pad too small)
        assume("leave an image" in str(error) or "no larger than" in str(error))
        return
    p = np.asarray(points, np.float64)
    np.testing.assert_allclose(
        geometry.to_original(geometry.to_input(p)), p, rtol=0, atol=1e-9 * max(1, np.abs(p).max())
    )
    boxes = np.concatenate([p, p + 3.5], -1)
    np.testing.assert_allclose(
        geometry.to_input(geometry.to_original(boxes)), boxes, rtol=0, atol=1e-9 * max(1, np.abs(boxes).max())
    )
    mask = geometry.mask()
    assert mask.shape == original
    if mask.any():  # the mask's pixels map onto picture
        top, bottom, left, right = geometry.mask_bounds
        centres = geometry.to_input(np.array([[left + 0.5, top + 0.5], [right - 0.5, bottom - 0.5]]))
        x0, y0, x1, y1 = geometry.content
        assert ((centres >= (x0, y0)) & (centres < (x1, y1))).all()


def test_clip_stops_boxes_at_the_picture():
    geometry = Geometry((300, 420), (Letterbox(640),))
    box = geometry.to_original(np.array([[-5.0, 10.0, 700.0, 630.0]]), clip=True)
    assert (box[0, 0], box[0, 2], box[0, 3]) == (0, 420, 300)


def test_visible_and_content():
    geometry = Geometry((300, 420), (Resize(256), CenterCrop(224)))
    assert geometry.content == (0.0, 0.0, 224.0, 224.0)
    x0, y0, _, y1 = geometry.visible
    assert (y0, y1) == (18.75, 281.25)  # 16 / (256 / 300) on each side
    assert x0 == pytest.approx(67 * 420 / 358)
    letterbox = Geometry((300, 420), (Letterbox(640),))
    assert letterbox.visible == (0.0, 0.0, 420.0, 300.0)
    assert letterbox.content == (0.0, 91.0, 640.0, 548.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: geometry_for("VGG16", (300, 400)), r"names a value preprocessing only.*geometry=\[Resize"),
        (lambda: geometry_for(object(), (300, 400)), "Expected a torchvision pipeline"),
        (
            lambda: geometry_for([Resize(8)], (300, 400, 3)),
            r"Expected `original_size` to be \(height, width\)",
        ),
        (lambda: geometry_for([Resize(8)], (0, 4)), "two positive integers"),
        (lambda: Geometry((3, 4), ("Resize",)), "Expected the library's steps"),
        (lambda: Resize(8, max_size=8), "greater than `size`"),
        (lambda: Resize((8, 8), max_size=9), "an int `size`"),
        (lambda: Resize((8, 8), longest=2.0), r"in \[0, 1\]"),
        (lambda: Resize((8, 8), longest=1.0, crop_to_aspect_ratio=True), "at most one of"),
        (lambda: CenterCrop(8, convention="pil"), "one of"),
        (lambda: Pad(-1), "non-negative"),
        (lambda: Pad((1, 2, 3)), "non-negative int"),
        (lambda: Geometry((5, 5), (Pad(size=(3, 3)),)), "no larger than"),
        (lambda: Geometry((1, 2000), (Letterbox(16),)), "shrunk to nothing"),  # round(1 * 0.008) = 0 rows
        (lambda: Geometry((300, 400), (Resize(256),)).to_input(np.zeros((3, 3))), r"\(\.\.\., 2\)"),
        (lambda: geometry_for(Geometry((3, 4)), (5, 6)), r"Geometry\(\(5, 6\), geometry.steps\)"),
    ],
)
def test_errors_say_what_was_expected_received_and_what_to_do(call, match):
    with pytest.raises(DeprocessError, match=match):
        call()


def test_integer_and_half_coordinates_widen():
    geometry = Geometry((300, 420), (Resize(256), CenterCrop(224)))
    assert geometry.to_input(np.array([[1, 2]])).dtype == np.float64
    assert geometry.to_input(np.array([[1, 2]], np.float16)).dtype == np.float32
    assert geometry.to_input([1.0, 2.0]).dtype == np.float64


def test_a_geometry_is_frozen_hashable_data():
    geometry = Geometry((300, 420), [Resize(256), CenterCrop(224)])
    assert geometry == Geometry((300, 420), (Resize(256), CenterCrop(224)))
    assert hash(geometry) == hash(Geometry((300, 420), (Resize(256), CenterCrop(224))))
    with pytest.raises(AttributeError):
        geometry.original_size = (1, 1)  # type: ignore[misc]
    assert math.isclose(geometry.scale[0], 358 / 420)
