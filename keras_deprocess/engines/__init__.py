"""Named engines that run plans, and the one router that picks among them.

- `blocked`: NumPy, in cache-sized blocks; every plan, no extra dependency.
- `numba`: fused kernels, one pass over memory (the `fast` extra).
- `compiled`: the framework's compiler (XLA for TensorFlow and JAX).
- `ops`: the kernels as plain framework ops (traces, small tensors, autodiff).
- `router`: `run(plan, x, engine=None)`; its docstring is the routing table.

Every engine is a plain function callable on its own, and all give the same
bits for a uint8 output.
"""

from keras_deprocess.engines.router import (
    ENGINES,
    THRESHOLDS,
    EngineRefused,
    describe_host_engine,
    engine_for,
    host_engine,
    run,
)

__all__ = [
    "ENGINES",
    "THRESHOLDS",
    "EngineRefused",
    "describe_host_engine",
    "engine_for",
    "host_engine",
    "run",
]
