"""pytorch-grad-cam's ``show_cam_on_image``, step for step, for ``compat="pytorch-grad-cam"``.

pytorch-grad-cam (``pytorch_grad_cam/utils/image.py``, 1.5.5) blends in
float32 and truncates twice; users moving over get the same pictures from
these steps, bit for bit, without OpenCV. The order of operations and the
dtypes are its own and must stay so: a division by 255 is not a
multiplication by 1/255 in the last ulp, and the truncation then differs.
"""

from __future__ import annotations

import numpy as np

from keras_deprocess.overlays.colormaps import opencv_jet

__all__ = ["show_cam_on_image"]


def show_cam_on_image(image: np.ndarray, mask: np.ndarray, image_weight: float) -> np.ndarray:
    """``show_cam_on_image(image / 255, mask, use_rgb=True, image_weight=image_weight)``.

    Args:
        image: uint8 ``(H, W, 3)`` RGB: the exact image.
        mask: float32 (or float64) ``(H, W)`` in [0, 1], the heatmap at the image size.
        image_weight: A Python float in [0, 1].

    Returns:
        uint8 ``(H, W, 3)``: ``trunc(255 · cam / max(cam))`` with
        ``cam = (1 - w) · jet[trunc(255 · mask)] / 255 + w · image / 255`` in
        float32 (``255 · mask`` in the mask's own dtype), max over the whole image.
    """
    indices = (255 * mask).astype(np.uint8)  # np.uint8(255 * mask): truncation
    heatmap = np.float32(opencv_jet()[indices]) / 255  # cv2.applyColorMap, then BGR → RGB
    img = np.float32(image) / 255
    cam = (1 - image_weight) * heatmap + image_weight * img
    peak = np.max(cam)
    if peak == 0:  # a black image with image_weight 1: pytorch-grad-cam divides by zero
        return np.zeros(image.shape, np.uint8)
    cam = cam / peak
    return np.asarray((255 * cam).astype(np.uint8))
