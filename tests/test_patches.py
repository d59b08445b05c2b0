"""`unpatchify` inverts the processors' own patchify, on every framework.

The patchify functions below are written as the libraries write them:
ViTMAE's ``patchify`` (huggingface/transformers
``models/vit_mae/modeling_vit_mae.py``, with ``interpolate_pos_encoding``
for non-square images) and Qwen2-VL's ``_preprocess`` flattening
(``models/qwen2_vl/image_processing_qwen2_vl.py``: NumPy reshape and
transpose; ``image_processing_qwen2_vl_fast.py``: torch view and permute).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import Native

from keras_deprocess import DeprocessError, preprocess_input, spec_from_mean_std, to_images, unpatchify

torch = pytest.importorskip("torch")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def mae_patchify(pixel_values, patch_size):
    """ViTMAEForPreTraining.patchify (torch), for (N, C, H, W)."""
    batch_size, num_channels = pixel_values.shape[:2]
    num_patches_h = pixel_values.shape[2] // patch_size
    num_patches_w = pixel_values.shape[3] // patch_size
    patchified_pixel_values = pixel_values.reshape(
        batch_size, num_channels, num_patches_h, patch_size, num_patches_w, patch_size
    )
    patchified_pixel_values = torch.einsum("nchpwq->nhwpqc", patchified_pixel_values)
    return patchified_pixel_values.reshape(
        batch_size, num_patches_h * num_patches_w, patch_size**2 * num_channels
    )


def qwen_flatten(patches, patch_size=14, temporal_patch_size=2, merge_size=2):
    """Qwen2VLImageProcessor._preprocess's flattening (NumPy), for frames (T, C, H, W)."""
    if patches.shape[0] % temporal_patch_size != 0:
        repeats = np.repeat(
            patches[-1][np.newaxis], temporal_patch_size - (patches.shape[0] % temporal_patch_size), axis=0
        )
        patches = np.concatenate([patches, repeats], axis=0)
    channel = patches.shape[1]
    grid_t = patches.shape[0] // temporal_patch_size
    grid_h, grid_w = patches.shape[2] // patch_size, patches.shape[3] // patch_size
    patches = patches.reshape(
        grid_t,
        temporal_patch_size,
        channel,
        grid_h // merge_size,
        merge_size,
        patch_size,
        grid_w // merge_size,
        merge_size,
        patch_size,
    )
    patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flatten_patches = patches.reshape(
        grid_t * grid_h * grid_w, channel * temporal_patch_size * patch_size * patch_size
    )
    return flatten_patches, (grid_t, grid_h, grid_w)


def qwen_flatten_fast(patches, patch_size=14, temporal_patch_size=2, merge_size=2):
    """Qwen2VLImageProcessorFast._preprocess's flattening (torch view and permute)."""
    if patches.shape[0] % temporal_patch_size != 0:
        repeats = patches[-1].unsqueeze(0).repeat(temporal_patch_size - 1, 1, 1, 1)
        patches = torch.cat([patches, repeats], dim=0)
    channel = patches.shape[1]
    grid_t = patches.shape[0] // temporal_patch_size
    grid_h, grid_w = patches.shape[2] // patch_size, patches.shape[3] // patch_size
    patches = patches.view(
        grid_t,
        temporal_patch_size,
        channel,
        grid_h // merge_size,
        merge_size,
        patch_size,
        grid_w // merge_size,
        merge_size,
        patch_size,
    )
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return patches.reshape(grid_t * grid_h * grid_w, channel * temporal_patch_size * patch_size * patch_size)


@pytest.mark.parametrize(("height", "width", "patch"), [(32, 32, 8), (24, 40, 8), (16, 16, 16), (12, 18, 3)])
def test_mae_sequences_come_back_exactly(framework, height, width, patch):
    images = torch.randn(2, 3, height, width)
    patches = mae_patchify(images, patch)
    image_size = None if height == width else (height, width)
    out = unpatchify(framework.tensor(patches.numpy()), patch_size=patch, image_size=image_size)
    assert framework.owns(out)
    np.testing.assert_array_equal(framework.numpy(out), images.numpy())
    single = unpatchify(framework.tensor(patches[0].numpy()), patch_size=patch, image_size=image_size)
    np.testing.assert_array_equal(framework.numpy(single), images[0].numpy())
    last = unpatchify(
        framework.tensor(patches.numpy()),
        patch_size=patch,
        image_size=image_size,
        data_format="channels_last",
    )
    np.testing.assert_array_equal(framework.numpy(last), images.permute(0, 2, 3, 1).numpy())


def test_mae_with_one_channel():
    images = torch.randn(1, 1, 8, 8)
    out = unpatchify(mae_patchify(images, 4), patch_size=4, channels=1)
    np.testing.assert_array_equal(out.numpy(), images.numpy())


def _qwen_batch(sizes, seed=0, fast=False):
    """Several images (C, H, W) and their concatenated pixel_values and image_grid_thw."""
    rng = np.random.default_rng(seed)
    images = [rng.normal(size=(3, h, w)).astype(np.float32) for h, w in sizes]
    rows, grids = [], []
    for image in images:
        if fast:
            flat = qwen_flatten_fast(torch.from_numpy(image)[None])
            grid = (1, image.shape[1] // 14, image.shape[2] // 14)
            rows.append(flat.numpy())
        else:
            flat, grid = qwen_flatten(image[None])
            rows.append(flat)
        grids.append(grid)
    return images, np.concatenate(rows), np.asarray(grids)


@pytest.mark.parametrize("fast", [False, True], ids=["slow", "fast"])
def test_qwen2_vl_pixel_values_come_back_exactly(framework, fast):
    images, pixel_values, grid_thw = _qwen_batch([(56, 84), (28, 28), (112, 56)], fast=fast)
    assert pixel_values.shape == (24 + 4 + 32, 3 * 2 * 14 * 14)
    out = unpatchify(framework.tensor(pixel_values), grid_thw=grid_thw)
    assert isinstance(out, list)
    assert len(out) == 3
    for restored, image in zip(out, images, strict=True):
        assert framework.owns(restored)
        np.testing.assert_array_equal(framework.numpy(restored), image)


def test_qwen2_vl_grid_as_a_tensor_and_a_list():
    images, pixel_values, grid_thw = _qwen_batch([(56, 84)])
    for grid in (torch.from_numpy(grid_thw), grid_thw.tolist(), grid_thw[0].tolist()):
        np.testing.assert_array_equal(
            unpatchify(torch.from_numpy(pixel_values), grid_thw=grid)[0].numpy(), images[0]
        )


def test_qwen2_vl_video_frames():
    rng = np.random.default_rng(1)
    frames = rng.normal(size=(3, 3, 28, 56)).astype(np.float32)  # 3 frames: the last is repeated to 4
    flat, grid = qwen_flatten(frames)
    assert grid == (2, 2, 4)
    out = unpatchify(flat, grid_thw=[grid])[0]
    assert out.shape == (4, 3, 28, 56)
    np.testing.assert_array_equal(out[:3], frames)
    np.testing.assert_array_equal(out[3], frames[2])


def test_qwen2_vl_a_two_frame_clip_keeps_both_frames(framework):
    rng = np.random.default_rng(3)
    frames = rng.normal(size=(2, 3, 28, 28)).astype(np.float32)  # t = 1: one temporal patch
    flat, grid = qwen_flatten(frames)
    assert grid == (1, 2, 2)
    out = framework.numpy(unpatchify(framework.tensor(flat), grid_thw=[grid])[0])
    assert out.shape == (2, 3, 28, 28)
    np.testing.assert_array_equal(out, frames)


def test_qwen2_vl_other_sizes():
    rng = np.random.default_rng(2)
    image = rng.normal(size=(3, 48, 64)).astype(np.float32)
    flat, grid = qwen_flatten(image[None], patch_size=16, temporal_patch_size=1, merge_size=1)
    out = unpatchify(flat, grid_thw=[grid], patch_size=16, temporal_patch_size=1, merge_size=1)
    np.testing.assert_array_equal(out[0], image)


def test_unpatchify_then_restore_gives_the_uint8_image_back():
    """A Qwen2-VL-style input: CLIP-normalized, patchified; back to the exact uint8 picture."""
    spec = spec_from_mean_std(CLIP_MEAN, CLIP_STD, scale=1 / 255)
    image = np.random.default_rng(3).integers(0, 256, (56, 84, 3), dtype=np.uint8)
    normalized = preprocess_input(image, spec, data_format="channels_last", dtype="float32")
    flat, grid = qwen_flatten(np.moveaxis(normalized, -1, 0)[None])
    restored = to_images(unpatchify(flat, grid_thw=[grid])[0], spec, data_format="channels_first")
    np.testing.assert_array_equal(restored, image)


def test_traced():
    """Reshapes and transposes only: jax.jit, tf.function and torch.compile run them.

    A still image's frames cannot be compared inside a trace, so its T = 2
    frames (both the image) come back there.
    """
    import jax

    images, pixel_values, grid_thw = _qwen_batch([(56, 84)])
    grid = grid_thw.tolist()
    both = np.stack([images[0], images[0]])
    jitted = jax.jit(lambda x: unpatchify(x, grid_thw=grid))(Native("jax").tensor(pixel_values))
    np.testing.assert_array_equal(np.asarray(jitted[0]), both)
    tf = pytest.importorskip("tensorflow")
    traced = tf.function(lambda x: unpatchify(x, grid_thw=grid))(tf.constant(pixel_values))
    np.testing.assert_array_equal(traced[0].numpy(), both)
    torch._dynamo.reset()
    compiled = torch.compile(lambda x: unpatchify(x, grid_thw=grid), backend="aot_eager", fullgraph=True)
    np.testing.assert_array_equal(compiled(torch.from_numpy(pixel_values))[0].numpy(), both)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: unpatchify(x), "Expected `patch_size`"),
        (lambda x: unpatchify(x, patch_size=5), r"Expected MAE patches of shape \(N, L, 75\)"),
        (lambda x: unpatchify(x, patch_size=4, image_size=(8, 12)), "Expected 9 patches to tile"),
        (lambda x: unpatchify(x, patch_size=4, merge_size=2), "Expected `grid_thw`"),
        (lambda x: unpatchify(x, patch_size=4, data_format="NCHW"), "Expected `data_format`"),
        (lambda x: unpatchify(x, grid_thw=[1, 2, 2], image_size=4), "only for an MAE sequence"),
        (lambda x: unpatchify(x, grid_thw=[1, 2, 2]), r"pixel_values of shape \(rows, C \* 2 \* 14 \* 14\)"),
    ],
)
def test_errors(call, match):
    with pytest.raises(DeprocessError, match=match):
        call(np.zeros((2, 9, 48), np.float32))


def test_qwen2_vl_errors():
    _, pixel_values, grid_thw = _qwen_batch([(56, 84)])
    with pytest.raises(DeprocessError, match=r"Expected 12 rows for grid_thw"):
        unpatchify(pixel_values, grid_thw=[[1, 2, 6]])
    with pytest.raises(DeprocessError, match="divisible by merge_size=4"):
        unpatchify(pixel_values, grid_thw=grid_thw, merge_size=4)
    with pytest.raises(DeprocessError, match=r"\(t, h, w\) per image"):
        unpatchify(pixel_values, grid_thw=[[1, 4]])
