r"""Colorization in CIE Lab, in the manner of Zhang et al., "Colorful Image Colorization".

A colorizer sees L (normalized, e.g. ``(L - 50) / 100``) and predicts ab,
either directly (normalized, e.g. ``ab / 110``) or as a distribution over
quantized ab bins. The steps around the 'lab' specs:

- `merge`: `merge_l_ab`, ab upsampled to L's resolution and put behind L;
- `bins`: `ab_bins`, the in-gamut ab bin centres of a grid;
- `distribution`: `decode_ab` / `encode_ab`, the annealed mean of a
  distribution over the bins and the soft-encoding of ab into one;
- `gamut`: `out_of_gamut`, which pixels the inverse clips, and how many.

Every function works on NumPy, TensorFlow, PyTorch and JAX arrays, in both
layouts, and stays differentiable where it is (`merge_l_ab`, `decode_ab`).
"""

from keras_deprocess.colorization.bins import ab_bins
from keras_deprocess.colorization.distribution import ZHANG_TEMPERATURE, decode_ab, encode_ab
from keras_deprocess.colorization.gamut import Gamut, out_of_gamut
from keras_deprocess.colorization.merge import merge_l_ab

__all__ = ["ZHANG_TEMPERATURE", "Gamut", "ab_bins", "decode_ab", "encode_ab", "merge_l_ab", "out_of_gamut"]
