"""One test template for every public operation, in the manner of kornia's `BaseTester`.

A test class per operation subclasses `OperationTests` and declares:

- `cases`: the calls to test (`Case`: a name, the keyword arguments, the
  output dtype, whether it is differentiable, whether it runs under
  `torch.compile` here, tolerances, and known library bugs);
- `inputs(case, data_format, batched)`: reproducible NumPy arrays, in the
  given layout, one per array argument of the operation;
- `operation(case, *arrays, data_format)`: the call, on any framework's arrays;
- `reference(case, *arrays, data_format)`: the expected result from NumPy
  arrays, by a real reference (Keras, scikit-image) or the documented formula
  in float64, never by the operation itself where a real reference exists;
- `output`: which type the operation owns: ``"framework"`` (the input's),
  ``"numpy"``, ``"pil"`` or ``"report"`` (`report_type`);
- `traceable`: whether it runs inside `tf.function` and `jax.jit`. An
  operation that needs the values on the host must instead raise a
  `DeprocessError` there that says so.

The template then runs the same tests on NumPy, TensorFlow, PyTorch and JAX,
whatever KERAS_BACKEND says: the output type, dtype and device; the result
against the reference, for a batch and one image, in both layouts; the
default layout; traced (`tf.function` with and without XLA, `jax.jit`,
`torch.compile(backend="aot_eager", fullgraph=True)` for the cases that ask
for it); the gradient of float outputs (`tf.GradientTape`, `jax.grad`, torch
autograd) against finite differences of the float64 reference; and that the
input is never written into (read-only NumPy arrays, torch's version counter)
nor shared with the output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pytest
from conftest import Native

from keras_deprocess import DeprocessError

LAYOUTS = ("channels_last", "channels_first")

# How to run a function traced → the framework whose arrays it takes.
TRACERS = {
    "tf.function": "tensorflow",
    "tf.function-xla": "tensorflow",
    "jax.jit": "jax",
    "torch.compile": "torch",
}
AUTODIFF = ("tensorflow", "torch", "jax")


@dataclasses.dataclass(frozen=True)
class Bug:
    """A known library bug: the test is ``xfail(strict=True)``, failing with `raises` only."""

    reason: str
    raises: tuple[type[BaseException], ...] | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    """One call of an operation, as a test class declares it.

    Attributes:
        name: The test id.
        kwargs: Keyword arguments of the call (besides `data_format`).
        dtype: The dtype name of an array output; None for other outputs.
        differentiable: Float output: its gradient is tested.
        torch_compile: Also run under ``torch.compile`` (slow: a few cases only).
        atol, rtol: Tolerance against the reference; 0 and 0 for bit for bit.
        gradient_rtol: Relative tolerance of the gradient against finite differences.
        bugs: Test name (or ``"test_traced[tracer]"``) → `Bug`: known library
            bugs, reported, not hidden.
        setup: Anything else the class needs to build the inputs or the reference.
    """

    name: str
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    dtype: str | None = None
    differentiable: bool = False
    torch_compile: bool = False
    atol: float = 0.0
    rtol: float = 0.0
    gradient_rtol: float = 1e-4
    bugs: dict[str, Bug] = dataclasses.field(default_factory=dict)
    setup: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return self.name


def tensors(framework: Native, arrays: Sequence[np.ndarray]) -> list[Any]:
    return [framework.tensor(np.ascontiguousarray(a)) for a in arrays]


def traced(tracer: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` wrapped by one of `TRACERS`."""
    if tracer.startswith("tf.function"):
        import tensorflow as tf

        return tf.function(function, jit_compile=tracer.endswith("xla"))
    if tracer == "jax.jit":
        import jax

        return jax.jit(function)
    import torch

    torch._dynamo.reset()  # one code object serves every case: no recompile limit, no stale guards
    return torch.compile(function, backend="aot_eager", fullgraph=True)


def autodiff_gradients(
    name: str,
    function: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    weights: np.ndarray,
    arguments: Sequence[int],
) -> list[np.ndarray]:
    """d sum(function(*arrays) * weights) / d arrays[i] for i in `arguments`, by `name`'s autodiff."""
    if name == "tensorflow":
        import tensorflow as tf

        inputs = [tf.constant(a) for a in arrays]
        with tf.GradientTape() as tape:
            for i in arguments:
                tape.watch(inputs[i])
            out = function(*inputs)
            loss = tf.reduce_sum(out * tf.constant(weights, out.dtype))
        return [np.asarray(g) for g in tape.gradient(loss, [inputs[i] for i in arguments])]
    if name == "jax":
        import jax
        import jax.numpy as jnp

        def loss(*inputs: Any) -> Any:
            return jnp.sum(function(*inputs) * weights)

        gradients = jax.grad(loss, argnums=tuple(arguments))(*[jnp.asarray(a) for a in arrays])
        return [np.asarray(g) for g in gradients]
    import torch

    inputs = [torch.tensor(a, requires_grad=i in arguments) for i, a in enumerate(arrays)]
    out = function(*inputs)
    assert out.requires_grad, "the output is cut off from autograd"
    torch.sum(out * torch.tensor(weights, dtype=out.dtype)).backward()
    return [inputs[i].grad.numpy() for i in arguments]


def finite_differences(
    function: Callable[..., np.ndarray],
    arrays: Sequence[np.ndarray],
    weights: np.ndarray,
    argument: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward, central and forward differences of sum(function(*arrays) * weights), in float64.

    At a kink (sRGB's knee, Lab's cube-root knee, which also jump by about
    1e-9 with scikit-image's rounded constants) autodiff gives one of the
    one-sided derivatives, so a gradient is checked to lie between them.
    """
    wide = [np.asarray(a, np.float64) for a in arrays]
    x = wide[argument]

    def loss(values: np.ndarray) -> float:
        return float(np.sum(function(*wide[:argument], values, *wide[argument + 1 :]) * weights))

    base = loss(x)
    backward, central, forward = (np.empty_like(x) for _ in range(3))
    for index in np.ndindex(x.shape):
        step = 1e-5 * max(1.0, abs(float(x[index])))
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        up, down = loss(plus), loss(minus)
        backward[index] = (base - down) / step
        central[index] = (up - down) / (2 * step)
        forward[index] = (up - base) / step
    return backward, central, forward


_EXPECTED_GRADIENTS: dict[tuple[str, str], list[tuple[np.ndarray, ...]]] = {}


class OperationTests:
    """The same tests for every public operation; see the module docstring."""

    cases: ClassVar[tuple[Case, ...]]
    output: ClassVar[str]  # "framework", "numpy", "pil" or "report"
    report_type: ClassVar[type | None] = None
    traceable: ClassVar[bool] = True
    layouts: ClassVar[tuple[str, ...]] = LAYOUTS
    # Which array arguments the gradient is taken with respect to.
    gradient_arguments: ClassVar[tuple[int, ...]] = (0,)

    # -- declared by each operation's class ------------------------------------------------

    def inputs(self, case: Case, data_format: str, batched: bool) -> tuple[np.ndarray, ...]:
        raise NotImplementedError

    def operation(self, case: Case, *arrays: Any, data_format: str | None) -> Any:
        raise NotImplementedError

    def reference(self, case: Case, *arrays: np.ndarray, data_format: str) -> Any:
        raise NotImplementedError

    def comparable(self, out: Any, framework: Native) -> Any:
        """The output as NumPy, to compare with the reference."""
        if self.output == "framework":
            return framework.numpy(out)
        if self.output == "pil":
            return np.stack([np.asarray(i) for i in out]) if isinstance(out, list) else np.asarray(out)
        return out

    def assert_matches(self, actual: Any, expected: Any, case: Case) -> None:
        actual, expected = np.asarray(actual), np.asarray(expected)
        assert actual.shape == expected.shape
        if case.atol or case.rtol:
            np.testing.assert_allclose(actual.astype(np.float64), expected, atol=case.atol, rtol=case.rtol)
        else:
            assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
            np.testing.assert_array_equal(actual, expected)

    def check_report(self, out: Any, arrays: Sequence[np.ndarray], case: Case) -> None:
        """The invariants of a report output, beyond its type."""

    # -- parametrization -------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        test = metafunc.function.__name__
        names = metafunc.fixturenames
        if "tracer" in names:
            pairs = [
                self._param(case, test, tracer, id=f"{case.name}-{tracer}")
                for case in self.cases
                for tracer in TRACERS
                if tracer != "torch.compile" or (self.traceable and case.torch_compile)
            ]
            metafunc.parametrize(("case", "tracer"), pairs)
        elif "autodiff" in names:
            pairs = [
                self._param(case, test, autodiff, id=f"{case.name}-{autodiff}")
                for case in self.cases
                if case.differentiable
                for autodiff in AUTODIFF
            ]
            if not pairs:
                skip = pytest.mark.skip(reason=f"{type(self).__name__}: no float output to differentiate")
                pairs = [pytest.param(None, None, marks=skip, id="not-differentiable")]
            metafunc.parametrize(("case", "autodiff"), pairs)
        elif "case" in names:
            cases = self.cases[:1] if test == "test_default_data_format" else self.cases
            metafunc.parametrize("case", [self._param(c, test, id=c.name) for c in cases])
        if "data_format" in names:
            metafunc.parametrize("data_format", self.layouts)
        if "batched" in names:
            metafunc.parametrize("batched", [True, False], ids=["batch", "single"])

    def _param(self, case: Case, test: str, *values: Any, id: str) -> Any:
        key = f"{test}[{values[0]}]" if values else test
        bug = case.bugs.get(key) or case.bugs.get(test)
        marks = [pytest.mark.xfail(strict=True, reason=bug.reason, raises=bug.raises)] if bug else []
        return pytest.param(case, *values, id=id, marks=marks)

    # -- the tests ---------------------------------------------------------------------------

    def _run(
        self, case: Case, framework: Native, data_format: str, batched: bool, *, default_layout: bool = False
    ) -> tuple[tuple[np.ndarray, ...], list[Any], Any]:
        """The NumPy inputs in `data_format`, as `framework` arrays, and the operation's output
        (called with data_format=None when `default_layout`)."""
        arrays = self.inputs(case, data_format, batched)
        native = tensors(framework, arrays)
        out = self.operation(case, *native, data_format=None if default_layout else data_format)
        return arrays, native, out

    def test_output_type(self, framework, case):
        """The type the operation owns, with its dtype, on the input's device."""
        arrays, native, out = self._run(case, framework, "channels_last", True)
        if self.output == "framework":
            assert framework.owns(out), type(out)
            assert str(framework.numpy(out).dtype) == case.dtype
            _assert_same_device(framework, native[0], out)
        elif self.output == "numpy":
            assert type(out) is np.ndarray
            assert out.dtype == case.dtype
            assert out.flags.c_contiguous
        elif self.output == "pil":
            from PIL import Image

            assert isinstance(out, list)
            assert all(isinstance(i, Image.Image) and i.mode == "RGB" for i in out)
        else:
            assert self.report_type is not None
            assert isinstance(out, self.report_type)
            self.check_report(out, arrays, case)

    def test_matches_reference(self, framework, case, data_format, batched):
        """Bit for bit for integer outputs; to the case's tolerance for floats."""
        arrays, _, out = self._run(case, framework, data_format, batched)
        if self.output == "pil":
            assert isinstance(out, list) == batched  # a list for a batch, one image for an image
        expected = self.reference(case, *arrays, data_format=data_format)
        self.assert_matches(self.comparable(out, framework), expected, case)

    def test_default_data_format(self, framework, case):
        """data_format=None: channels_first for torch tensors, else keras.config.image_data_format()."""
        if len(self.layouts) < 2:
            pytest.skip("no data_format argument")
        import keras

        data_format = "channels_first" if framework.name == "torch" else keras.config.image_data_format()
        arrays, _, out = self._run(case, framework, data_format, True, default_layout=True)
        expected = self.reference(case, *arrays, data_format=data_format)
        self.assert_matches(self.comparable(out, framework), expected, case)

    def test_traced(self, case, tracer):
        """Inside a trace: the same result, or, for host operations, a DeprocessError that says why."""
        framework = Native(TRACERS[tracer])
        pytest.importorskip(framework.name)
        arrays = self.inputs(case, "channels_last", True)
        native = tensors(framework, arrays)

        def function(*inputs: Any) -> Any:
            return self.operation(case, *inputs, data_format="channels_last")

        if not self.traceable:
            with pytest.raises(DeprocessError, match="trac"):
                traced(tracer, function)(*native)
            return
        out = traced(tracer, function)(*native)
        assert framework.owns(out)
        expected = self.reference(case, *arrays, data_format="channels_last")
        self.assert_matches(framework.numpy(out), expected, case)

    def test_gradient(self, autodiff, case):
        """Finite everywhere, and between the one-sided finite differences of the float64 reference."""
        pytest.importorskip(autodiff)
        arrays = self.inputs(case, "channels_last", True)

        def reference(*values: np.ndarray) -> np.ndarray:
            return np.asarray(self.reference(case, *values, data_format="channels_last"), np.float64)

        key = (type(self).__name__, case.name)
        if key not in _EXPECTED_GRADIENTS:
            shape = reference(*arrays).shape
            weights = np.random.default_rng(17).normal(size=shape).astype(np.float32).astype(np.float64)
            _EXPECTED_GRADIENTS[key] = [
                (weights, *finite_differences(reference, arrays, weights, i)) for i in self.gradient_arguments
            ]
        expected = _EXPECTED_GRADIENTS[key]
        weights = expected[0][0].astype(np.float32)

        def function(*inputs: Any) -> Any:
            return self.operation(case, *inputs, data_format="channels_last")

        gradients = autodiff_gradients(autodiff, function, arrays, weights, self.gradient_arguments)
        for gradient, (_, backward, central, forward) in zip(gradients, expected, strict=True):
            assert gradient.shape == central.shape
            assert np.isfinite(gradient).all()
            # Where the function is smooth the three differences agree; at a kink autodiff
            # takes one side (or a mix, across channels), so it lies between them.
            tolerance = case.gradient_rtol * (np.abs(central) + np.abs(central).max())
            low = np.minimum(np.minimum(backward, forward), central) - tolerance
            high = np.maximum(np.maximum(backward, forward), central) + tolerance
            inside = (low <= gradient) & (gradient <= high)
            worst = np.unravel_index(np.argmin(inside), inside.shape)
            assert inside.all(), (worst, gradient[worst], backward[worst], central[worst], forward[worst])

    def test_never_mutates_the_input(self, framework, case):
        """Read-only NumPy input works; inputs keep their values (and torch's version counter)."""
        arrays = self.inputs(case, "channels_last", True)
        native = tensors(framework, arrays)
        if framework.name == "numpy":
            for array in native:
                array.flags.writeable = False
        before = [framework.numpy(t).copy() for t in native]
        versions = [t._version for t in native] if framework.name == "torch" else []
        out = self.operation(case, *native, data_format="channels_last")
        for tensor, values in zip(native, before, strict=True):
            np.testing.assert_array_equal(framework.numpy(tensor), values)
        if versions:
            assert [t._version for t in native] == versions
        for result in _arrays_of(out):
            assert result is not native[0]
            for tensor in native:
                assert not _shares_memory(framework, result, tensor)


def _assert_same_device(framework: Native, x: Any, out: Any) -> None:
    if framework.name in ("torch", "tensorflow"):
        assert out.device == x.device
    elif framework.name == "jax":
        assert out.devices() == x.devices()


def _arrays_of(out: Any) -> list[Any]:
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in _arrays_of(item)]
    if hasattr(out, "mask") and isinstance(out.mask, np.ndarray):
        return [out.mask]
    return [out] if hasattr(out, "shape") else []


def _shares_memory(framework: Native, out: Any, x: Any) -> bool:
    if framework.name == "numpy":
        return isinstance(out, np.ndarray) and bool(np.shares_memory(out, x))
    if framework.name == "torch":
        import torch

        return isinstance(out, torch.Tensor) and (
            out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        )
    return False  # TensorFlow and JAX arrays are immutable
