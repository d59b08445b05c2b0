"""Overlays: what a model did with its input, drawn over the exact image it saw.

- `colormaps`: OpenCV's JET built from its definition, matplotlib's
  colormaps, and the PASCAL VOC palette for label maps;
- `heatmaps`: heatmap shapes, their scale to [0, 1], and resampling to the
  model's input or, through a `Geometry`, to the original picture;
- `gradcam`: pytorch-grad-cam's ``show_cam_on_image``, step for step;
- `blend`: `overlay`, the public function.
"""

from keras_deprocess.overlays.blend import overlay
from keras_deprocess.overlays.colormaps import colormap_table, opencv_jet, voc_palette

__all__ = ["colormap_table", "opencv_jet", "overlay", "voc_palette"]
