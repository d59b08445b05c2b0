"""`to_original`: the model's input back on the original picture, from every kind of handle.

Inside the mask the canvas is within what resampling loses (PSNR against
the original, with a floor); outside it, it is exactly the fill or the
given original. Pipelines that only crop and pad come back exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import geometry_reference as ref  # noqa: E402
import torchvision_like as T  # noqa: E402
from PIL import Image  # noqa: E402

from keras_deprocess import (  # noqa: E402
    Canvas,
    CenterCrop,
    DeprocessError,
    Geometry,
    Letterbox,
    Pad,
    Resize,
    geometry_for,
    image_grid,
    preprocess_input,
    spec_from_mean_std,
    to_images,
    to_original,
)
from keras_deprocess.images import demo_image  # noqa: E402

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
SIZE = (300, 420)


def photo() -> np.ndarray:
    """The shipped photograph, enlarged to 300x420 (bicubic), so that crops matter."""
    return np.asarray(Image.fromarray(demo_image()).resize(SIZE[::-1], Image.Resampling.BICUBIC))


def smooth() -> np.ndarray:
    yy, xx = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
    channels = [
        127.5 + 100 * np.sin(xx / 40) * np.cos(yy / 55),
        127.5 + 90 * np.cos(xx / 70 + yy / 50),
        127.5 + 80 * np.sin((xx + yy) / 90),
    ]
    return np.clip(np.rint(np.stack(channels, -1)), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    error = (a.astype(np.float64) - b.astype(np.float64))[mask]
    return float(10 * np.log10(255**2 / np.mean(error**2)))


def chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(image, -1, 0))).double()


def timm_forward(image: np.ndarray, config: dict) -> torch.Tensor:
    """timm's eval transform (bilinear, uint8 between steps as PIL keeps it), ToTensor, Normalize."""
    x = chw(image)
    for step in ref.timm_eval_transform(config):
        x = step(x)
        if isinstance(step, (T.Resize, ref.ResizeKeepRatio)):
            x = x.round().clamp(0, 255)
    return T.Normalize(config["mean"], config["std"])(x.float() / 255)


TIMM_BORDER = {
    "input_size": (3, 224, 224),
    "crop_pct": 0.95,
    "crop_mode": "border",
    "mean": IMAGENET[0],
    "std": IMAGENET[1],
}
LETTERBOX = {"new_shape": 320}
UNIT = spec_from_mean_std(0.0, 1.0, scale=1 / 255)  # YOLO's input: pixels / 255

# PSNR inside the mask (dB), measured on this machine: photo / smooth.
# torchvision 39.9 / 60.0, timm 'border' (crop_pct 0.95) 34.8 / 56.8, letterbox 40.6 / 59.2.
FLOORS = {"photo": 33.0, "smooth": 50.0}


def _pipelines(image: np.ndarray):
    preset = T.ImageClassification(crop_size=224, resize_size=256)
    yield "torchvision", preset(image), {"model": preset}
    yield "timm", timm_forward(image, TIMM_BORDER), {"model": TIMM_BORDER}
    letterboxed = ref.letterbox(chw(image), LETTERBOX).round().clamp(0, 255)
    yield "letterbox", (letterboxed / 255).float(), {"model": UNIT, "geometry": [Letterbox(**LETTERBOX)]}


@pytest.mark.parametrize("kind", ["photo", "smooth"])
def test_inside_the_mask_within_what_resampling_loses_outside_exactly_the_fill(kind):
    image = photo() if kind == "photo" else smooth()
    for name, x, handle in _pipelines(image):
        canvas = to_original(x, original_size=SIZE, fill=(1, 2, 3), **handle)
        assert isinstance(canvas, Canvas)
        assert canvas.image.shape == (*SIZE, 3)
        assert canvas.image.dtype == np.uint8
        assert canvas.mask.shape == SIZE
        assert canvas.mask.dtype == bool
        quality = psnr(canvas.image, image, canvas.mask)
        print(f"{kind} {name}: {quality:.2f} dB over {canvas.mask.mean():.1%} of the picture")
        assert quality > FLOORS[kind], (name, quality)
        assert (canvas.image[~canvas.mask] == (1, 2, 3)).all()
        np.testing.assert_array_equal(canvas.mask, canvas.geometry.mask())
        with_original = to_original(x, original_size=SIZE, fill=image, **handle)
        np.testing.assert_array_equal(with_original.image[~canvas.mask], image[~canvas.mask])
        np.testing.assert_array_equal(with_original.image[canvas.mask], canvas.image[canvas.mask])


@pytest.mark.parametrize(
    "steps",
    [
        [T.CenterCrop((200, 250))],
        [T.Pad((3, 5, 7, 1)), T.CenterCrop((280, 433))],
        [T.CenterCrop(350)],
    ],
    ids=["crop", "pad-crop", "crop-larger"],
)
def test_crops_and_pads_come_back_exactly(steps):
    image = photo()
    pipeline = T.Compose([*steps, T.ToTensor(), T.Normalize(*IMAGENET)])
    canvas = to_original(pipeline(image), pipeline, original_size=SIZE, fill=0)
    np.testing.assert_array_equal(canvas.image[canvas.mask], image[canvas.mask])
    assert (canvas.image[~canvas.mask] == 0).all()


def test_a_batch_in_both_layouts_and_every_framework(framework):
    images = np.stack([photo(), smooth()])
    x = preprocess_input(images[:, 38:262, 98:322], "VGG16", data_format="channels_last")  # a 224 crop
    geometry = [CenterCrop(224)]
    expected = to_original(x, "VGG16", original_size=SIZE, geometry=geometry, data_format="channels_last")
    assert expected.image.shape == (2, *SIZE, 3)
    for layout, array in [("channels_last", x), ("channels_first", np.moveaxis(x, -1, 1))]:
        canvas = to_original(
            framework.tensor(np.ascontiguousarray(array)),
            "VGG16",
            original_size=SIZE,
            geometry=geometry,
            data_format=layout,
            fill=images,
        )
        np.testing.assert_array_equal(canvas.image, images)  # the crop exactly, the rest the originals


def test_the_steps_in_place_of_the_model():
    x = np.zeros((8, 8, 3), np.float32)
    by_keyword = to_original(
        x, mode="tf", original_size=(8, 10), geometry=[CenterCrop(8)], data_format="channels_last"
    )
    for steps in ([CenterCrop(8)], CenterCrop(8), Geometry((8, 10), (CenterCrop(8),))):
        canvas = to_original(x, steps, mode="tf", original_size=(8, 10), data_format="channels_last")
        np.testing.assert_array_equal(canvas.image, by_keyword.image)


def test_leading_axes_are_kept():
    x = np.zeros((2, 3, 8, 8, 3), np.float32)
    canvas = to_original(
        x, mode="tf", geometry=Geometry((8, 10), (CenterCrop(8),)), data_format="channels_last"
    )
    assert canvas.image.shape == (2, 3, 8, 10, 3)


def test_handles_that_carry_both_maps():
    image = photo()
    pipeline = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(*IMAGENET)])
    from_pipeline = to_original(pipeline(image), pipeline, original_size=SIZE)
    from_steps = to_original(
        pipeline(image), "imagenet", original_size=SIZE, geometry=[Resize(256), CenterCrop(224)]
    )
    np.testing.assert_array_equal(from_pipeline.image, from_steps.image)
    assert from_pipeline.geometry == from_steps.geometry
    hf = {
        "do_resize": True,
        "size": {"shortest_edge": 224},
        "do_center_crop": True,
        "crop_size": {"height": 224, "width": 224},
        "image_mean": IMAGENET[0],
        "image_std": IMAGENET[1],
    }
    x = T.Normalize(*IMAGENET)(
        ref.hf_center_crop_slow(
            T.resize_tensor(chw(image), ref.hf_shortest_edge_size(*SIZE, 224)).round().clamp(0, 255),
            (224, 224),
        ).float()
        / 255
    )
    canvas = to_original(x, hf, original_size=SIZE)
    assert psnr(canvas.image, image, canvas.mask) > FLOORS["photo"]


def test_a_keras_model_with_its_own_layers(keras_module):
    keras = keras_module
    image = photo()
    layers = [
        keras.layers.Resizing(150, 210, crop_to_aspect_ratio=True),
        keras.layers.CenterCrop(128, 192),
        keras.layers.Rescaling(1 / 127.5, offset=-1),
    ]
    model = keras.Sequential([keras.Input((None, None, 3)), *layers])
    x = keras.ops.convert_to_numpy(model(image[None].astype("float32")))
    canvas = to_original(x, model, original_size=SIZE, data_format="channels_last")
    assert canvas.image.shape == (1, *SIZE, 3)
    assert psnr(canvas.image[0], image, canvas.mask) > FLOORS["photo"]


def test_a_keras_hub_image_converter(keras_module):
    keras_hub = pytest.importorskip("keras_hub")
    image = photo()
    converter = keras_hub.layers.ImageConverter(
        image_size=(160, 160), scale=1 / 255, offset=0.0, crop_to_aspect_ratio=True, antialias=True
    )
    x = keras_module.ops.convert_to_numpy(converter(image[None].astype("float32")))
    canvas = to_original(x, converter, original_size=SIZE, data_format="channels_last")
    assert psnr(canvas.image[0], image, canvas.mask) > FLOORS["photo"]
    assert canvas.mask[:, :40].sum() == 0  # 420 → a centred 300 x 300 crop: 60 columns each side unseen


def test_to_images_and_image_grid_take_the_original_size():
    image = photo()
    preset = T.ImageClassification(crop_size=224, resize_size=256)
    batch = torch.stack([preset(image), preset(image)])
    pictures = to_images(batch, preset, original_size=SIZE)
    assert pictures.shape == (2, *SIZE, 3)
    np.testing.assert_array_equal(pictures[0], to_original(batch[0], preset, original_size=SIZE).image)
    grid = image_grid(batch, model=preset, original_size=SIZE, columns=2, padding=0)
    assert grid.shape == (SIZE[0], 2 * SIZE[1], 3)
    np.testing.assert_array_equal(grid[:, : SIZE[1]], pictures[0])
    # uint8 model inputs are placed too
    crops = image[None, 38:262, 98:322]
    placed = image_grid(crops, geometry=Geometry(SIZE, (CenterCrop(224),)), padding=0)
    np.testing.assert_array_equal(placed[38:262, 98:322], crops[0])
    assert (placed[:, :98] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "VGG16", "original_size": SIZE}, r"names a value preprocessing only.*geometry="),
        ({"model": "VGG16"}, r"Expected `original_size`"),
        ({"model": "VGG16", "geometry": [Resize(256)]}, r"Expected `original_size` \(height, width\) with"),
        ({"model": "VGG16", "original_size": SIZE, "geometry": [Resize(100)]}, r"Expected images of 100x140"),
        (
            {"model": "VGG16", "original_size": SIZE, "geometry": [CenterCrop(8)], "fill": 256},
            "Expected `fill`",
        ),
        (
            {
                "model": "VGG16",
                "original_size": SIZE,
                "geometry": [CenterCrop(8)],
                "fill": np.zeros((2, 2, 3)),
            },
            r"Received an array of shape \(2, 2, 3\) and dtype float64",
        ),
        (
            {"model": "VGG16", "original_size": SIZE, "geometry": [CenterCrop(8)], "fill": (1, 2)},
            "RGB triple",
        ),
    ],
)
def test_errors(kwargs, match):
    x = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(DeprocessError, match=match):
        to_original(x, data_format="channels_last", **kwargs)


def test_traced_input_is_refused():
    tf = pytest.importorskip("tensorflow")

    @tf.function
    def place(x):
        return to_original(
            x, "VGG16", original_size=(8, 8), geometry=[Pad(0)], data_format="channels_last"
        ).image

    with pytest.raises(DeprocessError, match="Expected concrete values: to_original"):
        place(tf.zeros((8, 8, 3)))


def test_geometry_for_a_pipeline_equals_the_canvas_geometry():
    pipeline = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(*IMAGENET)])
    canvas = to_original(torch.zeros(3, 224, 224), pipeline, original_size=SIZE)
    assert canvas.geometry == geometry_for(pipeline, SIZE)


def test_numpy_geometry_loads_no_framework():
    from conftest import run_python

    loaded = run_python(
        """
        import json, sys
        import numpy as np
        import keras_deprocess as kd
        g = kd.geometry_for([kd.Resize(256), kd.CenterCrop(224)], (300, 420))
        g.to_original(g.to_input(np.zeros((3, 4))))
        kd.to_original(np.zeros((224, 224, 3), np.float32), g, mode="tf", data_format="channels_last")
        kd.unpatchify(np.zeros((4, 12), np.float32), patch_size=2)
        print(json.dumps(sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)))
        """
    )
    assert loaded.strip().splitlines()[-1] == "[]"
