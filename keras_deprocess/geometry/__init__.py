"""Geometry: the model's input placed back on the original picture.

- `steps`: `Resize`, `CenterCrop`, `Pad`, `Letterbox` as frozen data, each
  with its library's integer rules, and the affine map it makes per axis;
- `map`: `Geometry`, the steps composed exactly for one original size, with
  points and boxes mapped both ways in any framework;
- `handles`: `geometry_for`, reading the steps of torchvision, timm, Hugging
  Face, Keras and keras_hub objects;
- `canvas`: `to_original` and `Canvas`, the exactly restored input resampled
  onto the original picture, with the mask of what the model saw;
- `patches`: `unpatchify`, images back from MAE and Qwen2-VL patch rows.
"""

from keras_deprocess.geometry.canvas import Canvas, place_on_original, to_original
from keras_deprocess.geometry.handles import geometry_for
from keras_deprocess.geometry.map import Geometry
from keras_deprocess.geometry.patches import unpatchify
from keras_deprocess.geometry.steps import CenterCrop, Letterbox, Pad, Resize

__all__ = [
    "Canvas",
    "CenterCrop",
    "Geometry",
    "Letterbox",
    "Pad",
    "Resize",
    "geometry_for",
    "place_on_original",
    "to_original",
    "unpatchify",
]
