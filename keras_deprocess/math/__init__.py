"""The array math, written once.

- `affine`: the per-channel affine map and its correctly rounded uint8
  inverse, on any framework's interface.
- `host`: the engines that run it on host memory (blocked NumPy, fused XLA).
- `finite`: the checks for NaN and ±Inf.
"""
