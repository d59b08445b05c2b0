"""torchvision's transforms, written in torch (torchvision has no CPU build here).

Each class has torchvision's name and the attributes keras-deprocess reads;
`__call__` does what torchvision's does, so pipelines can be run and then
restored. `v2` holds the `transforms.v2` spellings.
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


class Resize:
    def __init__(self, size, interpolation=None):
        self.size, self.interpolation = size, interpolation

    def __call__(self, image):
        tensor = torch.as_tensor(np.asarray(image)).permute(2, 0, 1)[None].float()
        resized = torch.nn.functional.interpolate(tensor, size=(self.size, self.size), mode="nearest")
        return resized[0].permute(1, 2, 0).to(torch.uint8).numpy()


class CenterCrop:
    def __init__(self, size):
        self.size = size

    def __call__(self, image):
        array = np.asarray(image)
        top = (array.shape[0] - self.size) // 2
        left = (array.shape[1] - self.size) // 2
        return array[top : top + self.size, left : left + self.size]


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
