"""torchvision's transforms, written in torch (torchvision has no CPU build here).

Each class has torchvision's name and the attributes keras-deprocess reads;
`__call__` does what torchvision's does, so pipelines can be run and then
restored. `v2` holds the `transforms.v2` spellings. The spatial steps follow
pytorch/vision ``torchvision/transforms/functional.py`` (``resize``,
``_compute_resized_output_size``, ``center_crop``, ``pad``) and
``transforms/_presets.py`` (``ImageClassification``): images given as HWC
NumPy arrays (as PIL images would be) come back as HWC NumPy arrays,
resized by torchvision's tensor path (``interpolate``, half-pixel centres,
antialiased) and rounded back to uint8 as torchvision rounds integer
tensors.
"""

from __future__ import annotations

import types

import numpy as np
import torch


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


class ToTensor:
    """HWC uint8 (NumPy or PIL) → CHW float32 in [0, 1]."""

    def __call__(self, image):
        array = np.asarray(image)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div(255)


class PILToTensor:
    def __call__(self, image):
        return torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1)))


class ConvertImageDtype:
    def __init__(self, dtype):
        self.dtype = dtype

    def __call__(self, image):
        return image.to(self.dtype).div(255) if image.dtype == torch.uint8 else image.to(self.dtype)


class Normalize:
    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor):
        mean = torch.as_tensor(self.mean, dtype=tensor.dtype).reshape(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=tensor.dtype).reshape(-1, 1, 1)
        return (tensor - mean) / std


class InterpolationMode:
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def resized_output_size(image_size, size, max_size=None, allow_size_none=False):
    """torchvision ``transforms/functional.py`` ``_compute_resized_output_size``, as written there."""
    h, w = image_size
    short, long = (w, h) if w <= h else (h, w)
    if size is None:
        if not allow_size_none:
            raise ValueError("This should never happen!!")
        new_short, new_long = int(max_size * short / long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    elif len(size) == 1:
        requested_new_short = size if isinstance(size, int) else size[0]
        new_short, new_long = requested_new_short, int(requested_new_short * long / short)
        if max_size is not None:
            if max_size <= requested_new_short:
                raise ValueError("max_size must be strictly greater than the requested size")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    else:
        new_w, new_h = size[1], size[0]
    return [new_h, new_w]


def _as_chw(image):
    """HWC NumPy (PIL-like) or CHW tensor → (CHW float64 tensor, how to give the result back)."""
    if isinstance(image, torch.Tensor):
        return image.double(), lambda out: out if image.dtype.is_floating_point else out.to(image.dtype)
    array = np.asarray(image)
    chw = torch.from_numpy(np.ascontiguousarray(np.moveaxis(array, -1, 0))).double()

    def back(out):
        out = out.permute(1, 2, 0).numpy()
        if array.dtype == np.uint8:
            return np.clip(np.rint(out), 0, 255).astype(np.uint8)
        return out.astype(array.dtype)

    return chw, back


def resize_tensor(chw, size, interpolation="bilinear", antialias=True):
    """torchvision's tensor resize: ``interpolate`` with half-pixel centres (align_corners=False)."""
    mode = interpolation or "bilinear"
    kwargs = {"align_corners": False, "antialias": antialias} if mode in ("bilinear", "bicubic") else {}
    return torch.nn.functional.interpolate(chw[None], size=tuple(size), mode=mode, **kwargs)[0]


class Resize:
    """torchvision ``Resize``: an int is the shorter side (long side truncated), (h, w) exactly."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
        self.size, self.interpolation, self.max_size, self.antialias = (
            size,
            interpolation,
            max_size,
            antialias,
        )

    def __call__(self, image):
        chw, back = _as_chw(image)
        size = [self.size] if isinstance(self.size, int) else self.size
        output_size = resized_output_size(tuple(chw.shape[-2:]), size, self.max_size, allow_size_none=True)
        if list(chw.shape[-2:]) == output_size:
            return image
        return back(resize_tensor(chw, output_size, self.interpolation, self.antialias))


def setup_size(size):
    """torchvision's ``_setup_size``."""
    if isinstance(size, int):
        return (int(size), int(size))
    if isinstance(size, (list, tuple)) and len(size) == 1:
        return (size[0], size[0])
    return size


def pad_chw(chw, left, top, right, bottom, fill=0.0):
    return torch.nn.functional.pad(chw, (left, right, top, bottom), value=fill)


def center_crop_tensor(chw, output_size, fill=0.0):
    """torchvision ``center_crop`` (timm's and open_clip's ``center_crop_or_pad`` with `fill`)."""
    crop_height, crop_width = setup_size(output_size)
    image_height, image_width = chw.shape[-2:]
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        chw = pad_chw(chw, *padding_ltrb, fill=fill)
        image_height, image_width = chw.shape[-2:]
        if crop_width == image_width and crop_height == image_height:
            return chw
    crop_top = int(round((image_height - crop_height) / 2.0))  # noqa: RUF046 (as torchvision writes it)
    crop_left = int(round((image_width - crop_width) / 2.0))  # noqa: RUF046
    return chw[..., crop_top : crop_top + crop_height, crop_left : crop_left + crop_width]


class CenterCrop:
    def __init__(self, size):
        self.size = setup_size(size)

    def __call__(self, image):
        chw, back = _as_chw(image)
        return back(center_crop_tensor(chw, self.size))


class Pad:
    """torchvision ``Pad``: int, (left/right, top/bottom) or (left, top, right, bottom); constant fill."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, image):
        p = [self.padding] if isinstance(self.padding, int) else list(self.padding)
        left, top, right, bottom = p * 4 if len(p) == 1 else (p * 2 if len(p) == 2 else p)
        chw, back = _as_chw(image)
        return back(pad_chw(chw, left, top, right, bottom, float(self.fill)))


class ImageClassification:
    """torchvision ``transforms/_presets.py`` ``ImageClassification`` (``weights.transforms()``)."""

    def __init__(
        self,
        *,
        crop_size,
        resize_size=256,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        interpolation=InterpolationMode.BILINEAR,
        antialias=True,
    ):
        self.crop_size, self.resize_size = [crop_size], [resize_size]
        self.mean, self.std = list(mean), list(std)
        self.interpolation, self.antialias = interpolation, antialias

    def __call__(self, image):
        """uint8 HWC → normalized CHW float32: resize (rounded back to uint8), crop, to float, Normalize."""
        chw, _ = _as_chw(image)
        size = resized_output_size(tuple(chw.shape[-2:]), self.resize_size)
        if list(chw.shape[-2:]) != size:
            chw = resize_tensor(chw, size, self.interpolation, self.antialias).round().clamp(0, 255)
        chw = center_crop_tensor(chw, self.crop_size).float() / 255
        mean = torch.as_tensor(self.mean).view(-1, 1, 1)
        std = torch.as_tensor(self.std).view(-1, 1, 1)
        return (chw - mean) / std


class RandomResizedCrop:
    def __init__(self, size, scale=(0.08, 1.0)):
        self.size, self.scale = size, scale


class RandomHorizontalFlip:
    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, image):
        return image


class ColorJitter:
    def __init__(self, brightness=0.0):
        self.brightness = brightness

    def __call__(self, image):
        return image * (1 + self.brightness)


class Grayscale:
    def __init__(self, num_output_channels=1):
        self.num_output_channels = num_output_channels


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, image):
        return self.lambd(image)


class ToImage:
    """v2: HWC uint8 → CHW uint8 tensor."""

    def __call__(self, image):
        return PILToTensor()(image)


class ToDtype:
    def __init__(self, dtype, scale=False):
        self.dtype, self.scale = dtype, scale

    def __call__(self, tensor):
        out = tensor.to(self.dtype)
        return out.div(255) if self.scale and tensor.dtype == torch.uint8 else out


def _convert_image_to_rgb(image):
    """OpenAI CLIP's own step."""
    return image


v2 = types.SimpleNamespace(
    Pad=Pad,
    Compose=Compose,
    ToImage=ToImage,
    ToDtype=ToDtype,
    Normalize=Normalize,
    Resize=Resize,
    CenterCrop=CenterCrop,
    RandomHorizontalFlip=RandomHorizontalFlip,
)


def make_grid(tensor, nrow=8, padding=2, pad_value=0):
    """torchvision.utils.make_grid for a (N, C, H, W) tensor, as torchvision computes it."""
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(np.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    num_channels = tensor.size(1)
    grid = tensor.new_full((num_channels, height * ymaps + padding, width * xmaps + padding), pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding
            ).copy_(tensor[k])
            k += 1
    return grid
