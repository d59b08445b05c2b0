"""Forward references for the geometry tests: each library's spatial steps, as the library writes them.

torchvision's steps are in `torchvision_like`; timm's, Hugging Face's and
ultralytics' are here, written from their sources (cited beside each). Keras
and keras_hub are the real layers. Images are CHW float64 torch tensors;
an *index image* holds ``1 + row * W0 + column`` of the original pixel each
pixel shows, and 0 in padding, so that crops and pads can be followed pixel
by pixel, and resizes with nearest-exact sampling (half-pixel centres, as
every resize here samples).

Nothing here calls keras-deprocess: the tests compare its maps with these.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torchvision_like as T

Forward = Callable[[torch.Tensor], torch.Tensor]


def index_image(height: int, width: int) -> torch.Tensor:
    """(1, H, W) float64: 1 + the flat index of each pixel."""
    return torch.arange(1, height * width + 1, dtype=torch.float64).reshape(1, height, width)


def nearest(step: Any) -> Any:
    """A torchvision-like resize step made to sample nearest-exact, so an index image stays an index image."""
    step.interpolation = T.InterpolationMode.NEAREST_EXACT
    return step


# -- timm (huggingface/pytorch-image-models timm/data/transforms.py, transforms_factory.py) --------------


class ResizeKeepRatio:
    """timm's (and open_clip's) ``ResizeKeepRatio`` at evaluation (no randomness)."""

    def __init__(self, size, longest=0.0, interpolation="bilinear"):
        self.size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        self.longest = float(longest)
        self.interpolation = interpolation
        self.random_scale_prob = 0.0
        self.random_aspect_prob = 0.0

    @staticmethod
    def get_params(img_size, target_size, longest):
        img_h, img_w = img_size
        target_h, target_w = target_size
        ratio_h = img_h / target_h
        ratio_w = img_w / target_w
        ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
        ratio_factor = (1.0, 1.0)
        return [round(x * f / ratio) for x, f in zip(img_size, ratio_factor, strict=True)]

    def __call__(self, chw):
        size = self.get_params(tuple(chw.shape[-2:]), self.size, self.longest)
        return T.resize_tensor(chw, size, self.interpolation)


class CenterCropOrPad:
    def __init__(self, size, fill=0):
        self.size = T.setup_size(size)
        self.fill = fill

    def __call__(self, chw):
        return T.center_crop_tensor(chw, self.size, fill=float(np.mean(self.fill)))


class TrimBorder:
    def __init__(self, border_size):
        self.border_size = border_size

    def __call__(self, chw):
        h, w = chw.shape[-2:]
        top = left = self.border_size
        top = min(top, h)
        left = min(left, h)
        height = max(0, h - 2 * self.border_size)
        width = max(0, w - 2 * self.border_size)
        return chw[..., top : top + height, left : left + width]


def timm_eval_transform(config: dict[str, Any], interpolation: str = "bilinear") -> list[Any]:
    """``transforms_imagenet_eval``'s spatial steps for a data config, as timm builds them."""
    img_size = tuple(config["input_size"][-2:])
    crop_pct = config.get("crop_pct") or 0.875
    crop_mode = config.get("crop_mode")
    scale_size = tuple([math.floor(x / crop_pct) for x in img_size])
    if crop_mode == "squash":
        return [T.Resize(scale_size, interpolation=interpolation), T.CenterCrop(img_size)]
    if crop_mode == "border":
        fill = [round(255 * v) for v in config.get("mean", (0.0, 0.0, 0.0))]
        return [
            ResizeKeepRatio(scale_size, interpolation=interpolation, longest=1.0),
            CenterCropOrPad(img_size, fill),
        ]
    if scale_size[0] == scale_size[1]:
        steps: list[Any] = [T.Resize(scale_size[0], interpolation=interpolation)]
    else:
        steps = [ResizeKeepRatio(scale_size)]
    return [*steps, T.CenterCrop(img_size)]


# -- Hugging Face (huggingface/transformers image_transforms.py, image_processing_utils_fast.py) ---------


def hf_shortest_edge_size(height: int, width: int, size: int) -> tuple[int, int]:
    """``get_resize_output_image_size(..., default_to_square=False)`` for an int size."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def hf_center_crop_slow(chw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The slow processors' ``center_crop``: floor offsets; a larger crop pads, odd pixel top/left."""
    orig_height, orig_width = chw.shape[-2:]
    crop_height, crop_width = size
    top = (orig_height - crop_height) // 2
    bottom = top + crop_height
    left = (orig_width - crop_width) // 2
    right = left + crop_width
    if top >= 0 and bottom <= orig_height and left >= 0 and right <= orig_width:
        return chw[..., top:bottom, left:right]
    new_height = max(crop_height, orig_height)
    new_width = max(crop_width, orig_width)
    new_image = torch.zeros((*chw.shape[:-2], new_height, new_width), dtype=chw.dtype)
    top_pad = math.ceil((new_height - orig_height) / 2)
    bottom_pad = top_pad + orig_height
    left_pad = math.ceil((new_width - orig_width) / 2)
    right_pad = left_pad + orig_width
    new_image[..., top_pad:bottom_pad, left_pad:right_pad] = chw
    top += top_pad
    bottom += top_pad
    left += left_pad
    right += left_pad
    return new_image[..., max(0, top) : min(new_height, bottom), max(0, left) : min(new_width, right)]


def hf_center_crop_fast(chw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Fast processors since PR #40856 (and v5's torchvision backend): torchvision's pad, int() offsets."""
    image_height, image_width = chw.shape[-2:]
    crop_height, crop_width = size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        chw = T.pad_chw(chw, *padding_ltrb)
        image_height, image_width = chw.shape[-2:]
        if crop_width == image_width and crop_height == image_height:
            return chw
    crop_top = int((image_height - crop_height) / 2.0)
    crop_left = int((image_width - crop_width) / 2.0)
    return chw[..., crop_top : crop_top + crop_height, crop_left : crop_left + crop_width]


def hf_steps(
    config: dict[str, Any], *, fast: bool = False, mode: str = "bilinear"
) -> list[tuple[str, Forward]]:
    """A processor's spatial steps as (kind, forward): resize, crop, pad, in ``preprocess``'s order."""
    steps: list[tuple[str, Forward]] = []
    crop = hf_center_crop_fast if fast else hf_center_crop_slow
    size = config.get("size") or {}
    if config.get("do_resize", True) and size:
        if "height" in size:
            target = (size["height"], size["width"])
            steps.append(("resize", lambda x, t=target: T.resize_tensor(x, t, mode)))
        elif "crop_pct" in config:  # ConvNeXT: resize to shortest_edge / crop_pct, crop inside resize
            shortest = size["shortest_edge"]
            if shortest < 384:
                resize_shortest = int(shortest / config["crop_pct"])
                steps.append(
                    (
                        "resize",
                        lambda x, s=resize_shortest: T.resize_tensor(
                            x, hf_shortest_edge_size(*x.shape[-2:], s), mode
                        ),
                    )
                )
                steps.append(("move", lambda x, s=shortest: crop(x, (s, s))))
            else:
                steps.append(("resize", lambda x, s=shortest: T.resize_tensor(x, (s, s), mode)))
        else:
            shortest = size["shortest_edge"]
            steps.append(
                (
                    "resize",
                    lambda x, s=shortest: T.resize_tensor(x, hf_shortest_edge_size(*x.shape[-2:], s), mode),
                )
            )
    if config.get("do_center_crop"):
        crop_size = (config["crop_size"]["height"], config["crop_size"]["width"])
        steps.append(("move", lambda x, c=crop_size: crop(x, c)))
    if config.get("do_pad"):
        pad = config["pad_size"]
        steps.append(
            ("move", lambda x, p=pad: T.pad_chw(x, 0, 0, p["width"] - x.shape[-1], p["height"] - x.shape[-2]))
        )
    return steps


# -- ultralytics (ultralytics/data/augment.py, LetterBox.__call__) -----------------------------------


def letterbox_params(
    shape: tuple[int, int],
    new_shape: Any = (640, 640),
    *,
    auto: bool = False,
    scale_fill: bool = False,
    scaleup: bool = True,
    center: bool = True,
    stride: int = 32,
) -> tuple[tuple[int, int], int, int, int, int]:
    """``LetterBox.__call__``'s arithmetic: ((new width, new height), top, bottom, left, right)."""
    if isinstance(new_shape, int):
        new_shape = (new_shape, new_shape)
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    new_unpad = round(shape[1] * r), round(shape[0] * r)
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    if auto:
        dw, dh = np.mod(dw, stride), np.mod(dh, stride)
    elif scale_fill:
        dw, dh = 0.0, 0.0
        new_unpad = (new_shape[1], new_shape[0])
    if center:
        dw /= 2
        dh /= 2
    top, bottom = round(dh - 0.1) if center else 0, round(dh + 0.1)
    left, right = round(dw - 0.1) if center else 0, round(dw + 0.1)
    return new_unpad, int(top), int(bottom), int(left), int(right)


def letterbox_stages(options: dict[str, Any], mode: str = "bilinear") -> list[tuple[str, Forward]]:
    """LetterBox as two stages: the resize (cv2.resize when the size changes), then the border."""

    def resize(chw: torch.Tensor) -> torch.Tensor:
        (new_w, new_h), *_ = letterbox_params(tuple(chw.shape[-2:]), **options)
        if tuple(chw.shape[-2:]) == (new_h, new_w):
            return chw
        return T.resize_tensor(chw, (new_h, new_w), mode, antialias=False)

    def pad(chw: torch.Tensor, original: tuple[int, int]) -> torch.Tensor:
        _, top, bottom, left, right = letterbox_params(original, **options)
        return T.pad_chw(chw, left, top, right, bottom)

    return [("resize", resize), ("pad", pad)]  # type: ignore[list-item]


def letterbox(chw: torch.Tensor, options: dict[str, Any], mode: str = "bilinear") -> torch.Tensor:
    original = tuple(chw.shape[-2:])
    (resize, pad) = (stage[1] for stage in letterbox_stages(options, mode))
    return pad(resize(chw), original)  # type: ignore[call-arg]


# -- following the forward pass -------------------------------------------------------------------


def through(image: torch.Tensor, steps: Sequence[Any]) -> torch.Tensor:
    for step in steps:
        image = step[1](image) if isinstance(step, tuple) else step(image)
    return image


def centres_through(original_size: tuple[int, int], stages: Sequence[tuple[str, Forward]]) -> tuple[Any, Any]:
    """Where each original pixel centre lands in the model's input (NaN where it was cut off), per axis.

    A "resize" stage is run on a blank image to read the size it gives (its
    own arithmetic); the centre then scales by out / in (half-pixel
    sampling). A "move" stage (crop, pad) is run on an index image of the
    current frame, and each centre follows its pixel to wherever the
    forward pass put it.
    """
    height, width = original_size
    ys, xs = np.arange(height) + 0.5, np.arange(width) + 0.5
    for kind, forward in stages:
        if kind == "resize":
            new_h, new_w = forward(torch.zeros((1, height, width), dtype=torch.float64)).shape[-2:]
            ys, xs = ys * new_h / height, xs * new_w / width
        else:
            out = forward(index_image(height, width))[0].numpy()
            new_h, new_w = out.shape
            row_to, column_to = np.full(height, np.nan), np.full(width, np.nan)
            present = out > 0
            source_row, source_column = np.divmod(out[present].astype(np.int64) - 1, width)
            out_row, out_column = np.nonzero(present)
            row_to[source_row], column_to[source_column] = out_row, out_column
            ys = _follow(ys, row_to)
            xs = _follow(xs, column_to)
        height, width = new_h, new_w
    return ys, xs


def _follow(positions: np.ndarray, moved_to: np.ndarray) -> np.ndarray:
    out = np.full_like(positions, np.nan)
    alive = np.isfinite(positions) & (positions >= 0) & (positions < len(moved_to))
    pixel = np.floor(positions[alive]).astype(np.int64)
    out[alive] = moved_to[pixel] + (positions[alive] - pixel)
    return out


def one_hot_input(original_size: tuple[int, int], stages: Sequence[Any]) -> np.ndarray:
    """The index image of the original through the forward pass (resizes nearest-exact): (H, W)."""
    return through(index_image(*original_size), stages)[0].numpy()


def random_sizes(seed: int, count: int, low: int = 20, high: int = 700) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(rng.randint(low, high), rng.randint(low, high)) for _ in range(count)]
