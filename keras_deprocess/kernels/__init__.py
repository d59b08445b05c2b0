"""The math, written once against the kernel interface (`keras_deprocess.frameworks.base.Backend`).

- `affine`: the per-channel map, and its correctly rounded uint8 inverse in float64;
- `steps`: the same uint8 bits from float32, where a device has no float64;
- `colour`: sRGB ↔ CIE Lab;
- `maps`: a `Plan`'s whole map, as framework ops (traceable).

Kernels take arrays and plans and return arrays; which engine runs them,
and on which memory, is `keras_deprocess.engines`' business.
"""
