"""Every framework natively, whatever KERAS_BACKEND says: NumPy, TensorFlow, PyTorch, JAX.

The same set for each: an exact uint8 round trip across specs, ranks, layouts
and dtypes; the result in the caller's framework, where the input lives; no
mutation; traces (jit, vmap, tf.function, torch.compile). Each public
operation's own contract on every framework, gradients included, is the
template's: test_operations.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import backend, every_value_batch, run_python, to_layout

from keras_deprocess import (
    PreprocessSpec,
    get_spec,
    preprocess_input,
    restore_original_image_from_array,
    spec_from_mean_std,
)

SPECS = {
    "caffe": "caffe",
    "tf": "tf",
    "torch": "torch",
    "identity": "identity",
    "clip": "clip",
    "half": "half",
    "bgr-custom": spec_from_mean_std((0.4, 0.5, 0.6), (0.2, 0.25, 0.3), channel_order="BGR", name="bgr"),
}
# bfloat16 keeps 8 significant bits: exact as uint8 for the registered maps
# (the precision contract), not for arbitrary ones: CLIP's std is 20% wider than ImageNet's.
BFLOAT16_SPECS = ("caffe", "tf", "torch", "identity", "half")


def _preprocessed(spec, data_format: str, rank: int) -> tuple[np.ndarray, np.ndarray]:
    images = every_value_batch()
    if rank == 3:
        images = images[0]
    elif rank == 5:
        images = np.stack([images, images[:, ::-1]])
    images = to_layout(images, data_format) if rank < 5 else images
    layout = data_format if rank < 5 else "channels_last"
    return images, preprocess_input(images.astype(np.float64), spec, data_format=layout)


ROUND_TRIPS = [
    (spec, data_format, rank, dtype)
    for spec in SPECS
    for data_format, rank in [
        ("channels_last", 3),
        ("channels_last", 4),
        ("channels_last", 5),
        ("channels_first", 3),
        ("channels_first", 4),
    ]
    for dtype in ("float16", "bfloat16", "float32", "float64")
    if dtype != "bfloat16" or spec in BFLOAT16_SPECS
]


@pytest.mark.parametrize(("spec", "data_format", "rank", "dtype"), ROUND_TRIPS)
def test_exact_uint8_round_trip(framework, spec, data_format, rank, dtype):
    if not framework.supports(dtype):
        pytest.skip("JAX keeps float64 as float32 unless x64 is on: test_jax_with_x64_computes_float64")
    images, preprocessed = _preprocessed(SPECS[spec], data_format, rank)
    layout = data_format if rank < 5 else "channels_last"
    x = framework.tensor(preprocessed, dtype)
    before = framework.numpy(x).copy()
    restored = restore_original_image_from_array(x, SPECS[spec], data_format=layout)
    assert framework.owns(restored)
    np.testing.assert_array_equal(framework.numpy(restored), images)
    assert framework.numpy(restored).dtype == np.uint8
    np.testing.assert_array_equal(framework.numpy(x), before)  # never mutated


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("spec", ["caffe", "torch", "bgr-custom"])
def test_float_output_keeps_the_framework_and_matches_numpy(framework, spec, dtype):
    if not framework.supports(dtype):
        pytest.skip("JAX without x64 has no float64")
    images, preprocessed = _preprocessed(SPECS[spec], "channels_last", 4)
    x = framework.tensor(preprocessed, dtype)
    restored = restore_original_image_from_array(
        x, SPECS[spec], data_format="channels_last", dtype=dtype, clip=False
    )
    assert framework.owns(restored)
    tolerance = {"float16": 0.25, "float32": 1e-4, "float64": 1e-9}[dtype]
    np.testing.assert_allclose(framework.numpy(restored).astype(np.float64), images, atol=tolerance)


def test_identity_restore_of_a_float_input_is_a_new_array(framework):
    x = framework.tensor(np.full((2, 2, 3), 7.0, np.float32))
    y = restore_original_image_from_array(x, mode="identity", data_format="channels_last", dtype="float32")
    assert y is not x
    if framework.name in ("numpy", "torch"):  # the mutable ones
        y[...] = 0
        assert framework.numpy(x).max() == 7.0


# -- PyTorch ---------------------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_torch_tensor_that_requires_grad(torch):
    images, preprocessed = _preprocessed("torch", "channels_first", 4)
    x = torch.tensor(preprocessed.astype(np.float32), requires_grad=True)
    restored = restore_original_image_from_array(x, "imagenet")  # channels_first: PyTorch's layout
    assert restored.dtype == torch.uint8
    assert not restored.requires_grad
    np.testing.assert_array_equal(restored.numpy(), images)
    as_float = restore_original_image_from_array(x, "imagenet", dtype="float32", clip=False)
    assert as_float.requires_grad
    assert as_float.grad_fn is not None


def test_torch_defaults_to_channels_first(torch):
    images, preprocessed = _preprocessed("clip", "channels_first", 3)
    restored = restore_original_image_from_array(torch.tensor(preprocessed), "clip")
    assert tuple(restored.shape) == (3, 16, 16)
    np.testing.assert_array_equal(restored.numpy(), images)


def test_torch_bfloat16_and_non_contiguous(torch):
    images, preprocessed = _preprocessed("torch", "channels_last", 4)
    nhwc = torch.tensor(preprocessed, dtype=torch.float32)
    as_nchw_view = nhwc.permute(0, 3, 1, 2)  # channels_first, not contiguous
    restored = restore_original_image_from_array(as_nchw_view, "torch")
    np.testing.assert_array_equal(restored.permute(0, 2, 3, 1).numpy(), images)
    half = restore_original_image_from_array(nhwc.to(torch.bfloat16), "torch", data_format="channels_last")
    np.testing.assert_array_equal(half.numpy(), images)


def test_torch_device_is_kept(torch):
    x = torch.zeros((1, 3, 2, 2))
    assert restore_original_image_from_array(x, "imagenet").device == x.device


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="no CUDA device on this machine")
def test_torch_cuda_stays_on_the_device(torch):
    images, preprocessed = _preprocessed("caffe", "channels_first", 4)
    x = torch.tensor(preprocessed, dtype=torch.float32, device="cuda")
    restored = restore_original_image_from_array(x, "caffe")
    assert restored.device == x.device
    np.testing.assert_array_equal(restored.cpu().numpy(), images)


@pytest.mark.skipif(
    backend() != "tensorflow", reason="independent of KERAS_BACKEND; compiling once is enough"
)
@pytest.mark.parametrize("compiler", ["aot_eager", "inductor"])
def test_torch_compile(torch, compiler):
    images, preprocessed = _preprocessed("caffe", "channels_first", 4)
    x = torch.tensor(preprocessed, dtype=torch.float32)

    @torch.compile(backend=compiler, fullgraph=True)
    def restore(t):
        return restore_original_image_from_array(t, "VGG16", data_format="channels_first")

    np.testing.assert_array_equal(restore(x).numpy(), images)


@pytest.mark.skipif(
    backend() != "tensorflow", reason="independent of KERAS_BACKEND; compiling once is enough"
)
def test_torch_compile_fullgraph_as_the_first_call_of_a_process(torch):
    """Nothing is imported, and no functools cache met, while Dynamo traces the first call."""
    output = _run(
        """
        import json, warnings
        import numpy as np, torch
        from keras_deprocess import preprocess_input, restore_original_image_from_array

        @torch.compile(backend="aot_eager", fullgraph=True)
        def restore(t):
            return restore_original_image_from_array(t, "VGG16")

        images = np.random.default_rng(0).integers(0, 256, (2, 3, 8, 8), dtype=np.uint8)
        x = torch.tensor(preprocess_input(images, "VGG16", data_format="channels_first"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            same = bool(np.array_equal(restore(x).numpy(), images))
        ours = [
            str(w.message)[:200]
            for w in caught
            if "cache" in str(w.message) or "keras_deprocess" in w.filename
        ]
        print(json.dumps([same, ours]))
        """
    )
    assert json.loads(output) == [True, []]


@pytest.mark.skipif(backend() != "tensorflow", reason="independent of KERAS_BACKEND; tracing once is enough")
def test_tf_function_as_the_first_call_of_a_process_leaves_autograph_quiet(tf, tmp_path):
    # AutoGraph converts only functions with source on disk, so the script is a file.
    script = tmp_path / "first_call.py"
    script.write_text(
        textwrap.dedent(
            """
            import tensorflow as tf
            from keras_deprocess import restore_original_image_from_array

            @tf.function
            def restore(t):
                return restore_original_image_from_array(t, "VGG16", data_format="channels_last")

            print(restore(tf.zeros((1, 4, 4, 3))).shape)
            """
        )
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "(1, 4, 4, 3)" in result.stdout
    assert "AutoGraph could not transform" not in result.stderr + result.stdout


# -- JAX ----------------------------------------------------------------------------------


@pytest.fixture
def jax():
    return pytest.importorskip("jax")


def test_jax_jit_vmap_and_eager_agree(jax):
    images, preprocessed = _preprocessed("caffe", "channels_last", 4)
    x = jax.numpy.asarray(preprocessed.astype(np.float32))

    def restore(t):
        return restore_original_image_from_array(t, "VGG16", data_format="channels_last")

    np.testing.assert_array_equal(np.asarray(restore(x)), images)
    np.testing.assert_array_equal(np.asarray(jax.jit(restore)(x)), images)
    np.testing.assert_array_equal(np.asarray(jax.vmap(restore)(x)), images)


def _run(code: str, **env: str) -> str:
    """The last line `code` prints, in a fresh interpreter."""
    return run_python(code, **env).strip().splitlines()[-1]


def test_jax_sharded_array_keeps_its_sharding():
    output = _run(
        """
        import json
        import jax, numpy as np
        from jax.sharding import NamedSharding, PartitionSpec, Mesh
        from keras_deprocess import preprocess_input, restore_original_image_from_array
        images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
        mesh = Mesh(np.array(jax.devices()), ("batch",))
        sharding = NamedSharding(mesh, PartitionSpec("batch"))
        x = jax.device_put(preprocess_input(images, "VGG16", data_format="channels_last"), sharding)
        y = restore_original_image_from_array(x, "VGG16", data_format="channels_last")
        print(json.dumps([len(jax.devices()), y.sharding == x.sharding, bool(np.array_equal(y, images))]))
        """,
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
        JAX_PLATFORMS="cpu",
    )
    assert json.loads(output) == [2, True, True]


def test_jax_with_x64_computes_float64():
    output = _run(
        """
        import json
        import jax, jax.numpy as jnp, numpy as np
        from keras_deprocess import preprocess_input, restore_original_image_from_array
        images = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
        pre = preprocess_input(images.astype(np.float64), "DenseNet121", data_format="channels_last")
        x = jnp.asarray(pre)
        y = jax.jit(lambda t: restore_original_image_from_array(t, "DenseNet121", data_format="channels_last",
                    dtype="float64", clip=False))(x)
        print(json.dumps([str(x.dtype), str(y.dtype), float(np.abs(np.asarray(y) - images).max()) < 1e-9]))
        """,
        JAX_ENABLE_X64="1",
        JAX_PLATFORMS="cpu",
    )
    assert json.loads(output) == ["float64", "float64", True]


# -- only the caller's framework is imported --------------------------------------------


@pytest.mark.parametrize(
    ("framework_name", "make"),
    [
        ("torch", "import torch; x = torch.tensor(pre).permute(0, 3, 1, 2)"),
        ("jax", "import jax.numpy as jnp; x = jnp.asarray(pre).transpose(0, 3, 1, 2)"),
    ],
)
def test_restoring_a_tensor_imports_no_other_framework(framework_name, make):
    output = _run(
        f"""
        import json, sys
        import numpy as np
        import keras_deprocess as kd
        images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
        pre = kd.preprocess_input(images, "VGG16", data_format="channels_last")
        {make}
        kd.restore_original_image_from_array(x, "VGG16", data_format="channels_first")
        kd.restore_original_image_from_array(x, "VGG16", data_format="channels_first", dtype="float32")
        kd.preprocess_input(x, "imagenet", data_format="channels_first")
        kd.to_images(x, "VGG16", data_format="channels_first"); kd.detect_mode(x, "channels_first")
        print(json.dumps(sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)))
        """,
        KERAS_BACKEND="tensorflow",
    )
    assert json.loads(output) == [framework_name]


def test_a_keras_variable_is_read_through_its_value(keras_module):
    images, preprocessed = _preprocessed("tf", "channels_last", 4)
    variable = keras_module.Variable(preprocessed.astype(np.float32))
    restored = restore_original_image_from_array(variable, "tf", data_format="channels_last")
    np.testing.assert_array_equal(np.asarray(keras_module.ops.convert_to_numpy(restored)), images)


def test_spec_objects_are_interchangeable_across_frameworks(framework):
    spec = get_spec("clip")
    assert isinstance(spec, PreprocessSpec)
    images, preprocessed = _preprocessed(spec, "channels_last", 4)
    restored = restore_original_image_from_array(
        framework.tensor(preprocessed, "float32"), spec.to_config(), data_format="channels_last"
    )
    np.testing.assert_array_equal(framework.numpy(restored), images)


def test_torch_device_path_writes_slices_into_one_output(torch, monkeypatch):
    """The path CUDA tensors take (forced here on the CPU): slices of rows, one output tensor."""
    from keras_deprocess import get_spec
    from keras_deprocess.core.plan import Plan
    from keras_deprocess.engines import run
    from keras_deprocess.frameworks import backend_for

    images, preprocessed = _preprocessed("caffe", "channels_first", 4)
    x = torch.tensor(preprocessed, dtype=torch.float32)
    ops = backend_for(x)
    calls = []
    monkeypatch.setattr(ops, "host_view", lambda _: None)
    monkeypatch.setattr(ops, "slice_elements", 3 * 16 * 16)  # one image per slice
    original = ops.map_rows
    monkeypatch.setattr(ops, "map_rows", lambda *a: calls.append(1) or original(*a))
    restored = run(Plan.inverse(get_spec("caffe"), 1, "uint8"), x, engine="compiled")
    assert calls
    np.testing.assert_array_equal(restored.numpy(), images)
    # Channels first, one image: axis 0 is the channel axis, and is not sliced.
    single = run(Plan.inverse(get_spec("caffe"), 0, "uint8"), x[0], engine="compiled")
    np.testing.assert_array_equal(single.numpy(), images[0])
