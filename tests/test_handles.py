"""Handles from other libraries, read by duck typing: torchvision, CLIP, timm, Hugging Face, detectron2."""

from __future__ import annotations

import math
import sys
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torchvision_like as T  # noqa: E402
from conftest import every_value_image  # noqa: E402

from keras_deprocess import (  # noqa: E402
    DeprocessError,
    PreprocessSpec,
    get_spec,
    preprocess_input,
    restore_original_image_from_array,
    spec_from_hf,
    spec_from_mean_std,
    to_images,
)

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


# -- torchvision ----------------------------------------------------------------------


def test_a_normalize_alone_is_read_as_after_to_tensor():
    spec = get_spec(T.Normalize(*IMAGENET))
    assert spec.same_as(get_spec("torch"))
    assert spec.scale == pytest.approx(1 / 255)


def test_a_normalize_alone_with_pixel_unit_mean_is_read_in_pixel_units():
    """Normalize((123.675, ...), (58.395, ...)) on float [0, 255] tensors: no ToTensor before it."""
    pixel_units = T.Normalize((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
    spec = get_spec(pixel_units)
    assert spec.same_as(get_spec("torch"))
    assert spec.scale == 1
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    forward = pixel_units(images.float())
    restored = restore_original_image_from_array(forward, pixel_units)
    torch.testing.assert_close(restored, images)


@pytest.mark.parametrize(
    "pipeline",
    [
        T.Compose([T.ToTensor(), T.Normalize(*IMAGENET)]),
        T.Compose([T.Resize(16), T.CenterCrop(16), T.ToTensor(), T.Normalize(*IMAGENET)]),
        T.Compose([T.PILToTensor(), T.ConvertImageDtype(torch.float32), T.Normalize(*IMAGENET)]),
        T.v2.Compose([T.v2.ToImage(), T.v2.ToDtype(torch.float32, scale=True), T.v2.Normalize(*IMAGENET)]),
        T.Compose([T.Compose([T.ToTensor()]), T.Normalize(*IMAGENET)]),
    ],
    ids=["v1", "v1-geometric", "v1-convert-dtype", "v2", "nested"],
)
def test_torchvision_pipelines_restore_exactly(pipeline):
    image = every_value_image()
    preprocessed = pipeline(image)
    assert get_spec(pipeline).same_as(get_spec("imagenet"))
    restored = restore_original_image_from_array(preprocessed, pipeline)  # CHW: PyTorch's layout
    np.testing.assert_array_equal(restored.permute(1, 2, 0).numpy(), image)
    np.testing.assert_array_equal(to_images(preprocessed, pipeline), image)


def test_v2_without_scaling_takes_pixel_units():
    pipeline = T.v2.Compose(
        [
            T.v2.ToImage(),
            T.v2.ToDtype(torch.float32),
            T.v2.Normalize((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),
        ]
    )
    spec = get_spec(pipeline)
    assert spec.scale == 1.0
    assert spec.same_as(get_spec("torch"), rtol=1e-4)
    image = every_value_image()
    np.testing.assert_array_equal(to_images(pipeline(image), pipeline), image)


def test_clip_preprocess_pipeline():
    """OpenAI CLIP's `_transform`: resize, crop, a plain function to RGB, ToTensor, Normalize."""
    preprocess = T.Compose(
        [T.Resize(16), T.CenterCrop(16), T._convert_image_to_rgb, T.ToTensor(), T.Normalize(*CLIP)]
    )
    assert get_spec(preprocess).same_as(get_spec("clip"))
    image = every_value_image()
    np.testing.assert_array_equal(to_images(preprocess(image), preprocess), image)


def test_two_normalize_steps_compose():
    pipeline = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5), T.Normalize(*IMAGENET)])
    image = every_value_image()
    spec = get_spec(pipeline)
    expected = (
        ((image / 255 - 0.5) / 0.5).transpose(2, 0, 1) - np.reshape(IMAGENET[0], (3, 1, 1))
    ) / np.reshape(IMAGENET[1], (3, 1, 1))
    np.testing.assert_allclose(
        preprocess_input(image.transpose(2, 0, 1), spec, data_format="channels_first"), expected, atol=1e-5
    )
    np.testing.assert_array_equal(to_images(pipeline(image), pipeline), image)


@pytest.mark.parametrize(
    ("step", "name"),
    [
        (T.ColorJitter(brightness=0.2), "ColorJitter"),
        (T.Grayscale(), "Grayscale"),
        (T.Lambda(lambda x: x * 2), "Lambda"),
    ],
)
def test_colour_steps_that_cannot_be_undone_are_refused_by_name(step, name):
    pipeline = T.Compose([T.Resize(16), T.ToTensor(), step, T.Normalize(*IMAGENET)])
    with pytest.raises(DeprocessError, match=rf"Cannot invert the {name} step of the Compose"):
        get_spec(pipeline)


def test_an_unknown_step_is_refused_by_name():
    class Sharpen:
        def __call__(self, x):
            return x

    with pytest.raises(DeprocessError, match=r"Cannot tell whether the Sharpen step .* changes pixel values"):
        get_spec(T.Compose([T.ToTensor(), Sharpen(), T.Normalize(*IMAGENET)]))


def test_random_geometric_steps_are_skipped():
    pipeline = T.Compose([T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(*CLIP)])
    assert get_spec(pipeline).same_as(get_spec("clip"))


def test_albumentations_style_normalize_scales_by_its_max_pixel_value():
    class Normalize:  # albumentations.Normalize: (x - mean * max_pixel_value) / (std * max_pixel_value)
        def __init__(self):
            self.mean, self.std, self.max_pixel_value = IMAGENET[0], IMAGENET[1], 255.0

    assert get_spec(Normalize()).same_as(get_spec("torch"))


def test_normalize_with_tensor_mean_and_std():
    spec = get_spec(T.Normalize(torch.tensor(IMAGENET[0]), torch.tensor(IMAGENET[1], requires_grad=True)))
    assert spec.same_as(get_spec("torch"))


# -- timm -----------------------------------------------------------------------------


def test_timm_data_config_and_pretrained_cfg():
    config = {
        "input_size": (3, 224, 224),
        "interpolation": "bicubic",
        "mean": CLIP[0],
        "std": CLIP[1],
        "crop_pct": 0.9,
    }
    assert get_spec(config).same_as(get_spec("clip"))

    class TimmModel:
        pretrained_cfg: ClassVar[dict] = {
            "architecture": "vit_base_patch16_clip_224",
            "mean": CLIP[0],
            "std": CLIP[1],
            "num_classes": 0,
        }

    spec = get_spec(TimmModel())
    assert spec.same_as(get_spec("clip"))
    assert spec.name == "vit_base_patch16_clip_224"
    assert get_spec(TimmModel.pretrained_cfg).same_as(get_spec("clip"))


def test_a_bare_mean_std_dict_is_not_guessed():
    with pytest.raises(DeprocessError, match=r"Expected a spec config.*spec_from_mean_std"):
        get_spec({"mean": CLIP[0], "std": CLIP[1]})


# -- detectron2 -------------------------------------------------------------------------


class CfgNode(dict):
    """yacs' CfgNode: a dict with attribute access."""

    def __getattr__(self, name):
        return self[name]


def test_detectron2_config_defaults_to_bgr_in_pixel_units():
    cfg = CfgNode(
        MODEL=CfgNode(PIXEL_MEAN=[103.530, 116.280, 123.675], PIXEL_STD=[57.375, 57.120, 58.395]),
        INPUT=CfgNode(FORMAT="BGR"),
    )
    spec = get_spec(cfg)
    assert (spec.channel_order, spec.scale) == ("BGR", 1.0)
    image = every_value_image()
    bgr = image[..., ::-1].astype(np.float64)
    expected = (bgr - np.array(cfg.MODEL.PIXEL_MEAN)) / np.array(cfg.MODEL.PIXEL_STD)
    np.testing.assert_allclose(preprocess_input(image, cfg, data_format="channels_last"), expected, atol=1e-5)
    np.testing.assert_array_equal(
        restore_original_image_from_array(expected, cfg, data_format="channels_last"), image
    )
    assert get_spec(CfgNode(MODEL=CfgNode(PIXEL_MEAN=[0.0] * 3, PIXEL_STD=[1.0] * 3))).channel_order == "BGR"


def test_detectron2_rgb_lazyconfig_and_model():
    rgb = CfgNode(
        MODEL=CfgNode(PIXEL_MEAN=[123.675, 116.28, 103.53], PIXEL_STD=[58.395, 57.12, 57.375]),
        INPUT=CfgNode(FORMAT="RGB"),
    )
    assert get_spec(rgb).same_as(get_spec("torch"), rtol=1e-4)
    lazy = {
        "model": {
            "pixel_mean": [123.675, 116.28, 103.53],
            "pixel_std": [58.395, 57.12, 57.375],
            "input_format": "RGB",
        }
    }
    assert get_spec(lazy).same_as(get_spec("torch"), rtol=1e-4)

    class GeneralizedRCNN:
        input_format = "BGR"
        pixel_mean = torch.tensor([103.530, 116.280, 123.675]).view(-1, 1, 1)
        pixel_std = torch.tensor([1.0, 1.0, 1.0]).view(-1, 1, 1)

    spec = get_spec(GeneralizedRCNN())
    assert spec.channel_order == "BGR"
    np.testing.assert_allclose(spec.mean, (103.530, 116.280, 123.675), rtol=1e-6)


def test_detectron2_grayscale_format_is_refused():
    cfg = CfgNode(MODEL=CfgNode(PIXEL_MEAN=[128.0], PIXEL_STD=[1.0]), INPUT=CfgNode(FORMAT="L"))
    with pytest.raises(DeprocessError, match=r"INPUT.FORMAT of 'BGR' or 'RGB'. Received: FORMAT='L'"):
        get_spec(cfg)


# -- Hugging Face -------------------------------------------------------------------------


def test_hf_flip_channel_order_is_bgr():
    mobilevit = {
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_flip_channel_order": True,
        "do_normalize": False,
    }
    spec = spec_from_hf(mobilevit)
    assert spec.channel_order == "BGR"
    image = every_value_image()
    expected = image[..., ::-1] / 255
    np.testing.assert_allclose(
        preprocess_input(image, spec, data_format="channels_last"), expected, atol=1e-7
    )
    with_norm = spec_from_hf({**mobilevit, "do_normalize": True, "image_mean": CLIP[0], "image_std": CLIP[1]})
    expected = ((image / 255 - CLIP[0]) / CLIP[1])[..., ::-1]
    np.testing.assert_allclose(
        preprocess_input(image, with_norm, data_format="channels_last"), expected, atol=1e-5
    )


def test_hf_other_rescale_factors_and_offset():
    spec = spec_from_hf({"rescale_factor": 1 / 127.5, "do_normalize": False, "do_convert_rgb": True})
    assert spec.scale == pytest.approx(1 / 127.5)
    efficientnet = spec_from_hf({"rescale_factor": 1 / 127.5, "rescale_offset": True, "do_normalize": False})
    assert efficientnet.same_as(get_spec("tf"))


@pytest.mark.parametrize("factor", ["x", None, float("nan"), True])
def test_hf_bad_rescale_factor(factor):
    with pytest.raises(DeprocessError, match="Expected `rescale_factor` to be a finite number"):
        spec_from_hf({"rescale_factor": factor, "image_mean": CLIP[0], "image_std": CLIP[1]})


# -- mean and std as numbers of any kind ----------------------------------------------------


@pytest.mark.parametrize(
    "mean",
    [
        np.float32(0.5),
        np.array(0.5),
        np.array([0.5]),
        torch.tensor(0.5),
        torch.tensor([0.5]),
        torch.tensor([0.5, 0.5, 0.5], requires_grad=True),
        np.float64(0.5),
        [np.float32(0.5)] * 3,
    ],
    ids=["np-scalar", "0-d", "1-element", "torch-0-d", "torch-1", "torch-grad", "np-float64", "list-of-np"],
)
def test_mean_and_std_of_any_numeric_kind(mean):
    assert spec_from_mean_std(mean, mean).same_as(get_spec("half"))


def test_int_mean_and_std():
    spec = spec_from_mean_std(128, 2, scale=1)
    assert spec.inverse_affine().multiplier == (2.0,)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("123", "a string"),
        (True, "Expected `mean`"),
        ([0.5, "a", 0.5], "Expected `mean`"),
        (None, "Expected `mean`"),
    ],
)
def test_mean_that_is_not_numbers_is_refused(value, match):
    with pytest.raises(DeprocessError, match=match):
        spec_from_mean_std(value, 0.5)


@pytest.mark.parametrize("std", [1e308, 1e-320])
def test_std_whose_coefficients_are_not_finite_is_refused(std):
    with pytest.raises(DeprocessError, match="finite, non-zero coefficients"):
        spec_from_mean_std(0.5, std)


def test_handles_import_nothing():
    assert "torchvision" not in sys.modules
    assert "timm" not in sys.modules
    assert "detectron2" not in sys.modules
    assert "transformers" not in sys.modules


def test_handles_work_wherever_a_model_name_does():
    pipeline = T.Compose([T.ToTensor(), T.Normalize(*CLIP)])
    image = every_value_image()
    preprocessed = pipeline(image)
    for handle in (pipeline, get_spec(pipeline), get_spec(pipeline).to_config(), "clip"):
        np.testing.assert_array_equal(to_images(preprocessed, handle), image)
    assert isinstance(get_spec(pipeline), PreprocessSpec)
    assert math.isclose(get_spec(pipeline).scale, 1 / 255)
