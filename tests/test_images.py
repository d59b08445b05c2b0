"""Images out: to_images, to_pil and image_grid, from every framework, never stretched."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import every_value_batch

from keras_deprocess import DeprocessError, image_grid, preprocess_input, to_images, to_pil


def test_to_images_from_torch_defaults_to_channels_first_and_detaches():
    torch = pytest.importorskip("torch")
    images = every_value_batch()
    chw = preprocess_input(images.transpose(0, 3, 1, 2), "imagenet", data_format="channels_first")
    x = torch.tensor(chw, requires_grad=True)
    out = to_images(x, "imagenet")
    assert out.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(out, images)


def test_to_pil_grayscale_and_a_bad_channel_count():
    gray = to_pil(np.full((4, 5, 1), 7.0, np.float32), mode="identity", data_format="channels_last")
    assert (gray.mode, gray.size) == ("L", (5, 4))
    with pytest.raises(DeprocessError, match="1, 3 or 4 channels"):
        to_pil(np.zeros((4, 5, 2), np.float32), mode="identity", data_format="channels_last")


# -- image_grid ----------------------------------------------------------------------


def test_image_grid_matches_torchvision_make_grid():
    torch = pytest.importorskip("torch")
    from torchvision_like import make_grid

    batch = np.random.default_rng(0).integers(0, 256, (11, 3, 5, 7), dtype=np.uint8)
    for columns, padding, pad_value in [(8, 2, 0), (3, 0, 0), (4, 1, 255), (20, 3, 9)]:
        expected = make_grid(torch.tensor(batch), nrow=columns, padding=padding, pad_value=pad_value)
        ours = image_grid(torch.tensor(batch), columns, padding, pad_value=pad_value)
        np.testing.assert_array_equal(ours, expected.permute(1, 2, 0).numpy())


def test_image_grid_restores_first_when_given_a_model():
    images = every_value_batch()
    x = preprocess_input(images, "DenseNet121", data_format="channels_last")
    grid = image_grid(x, columns=2, padding=1, model="DenseNet121", data_format="channels_last")
    assert grid.shape == (1 + 16 + 1, 1 + 2 * (16 + 1), 3)
    np.testing.assert_array_equal(grid[1:17, 1:17], images[0])
    np.testing.assert_array_equal(grid[1:17, 18:34], images[1])


def test_image_grid_of_a_list_of_sizes_centres_each_image():
    small, large = np.full((2, 2, 3), 200, np.uint8), np.full((4, 6, 1), 50, np.uint8)
    grid = image_grid([small, large], padding=0)
    assert grid.shape == (4, 12, 3)
    np.testing.assert_array_equal(grid[1:3, 2:4], small)
    np.testing.assert_array_equal(grid[:, 6:], np.full((4, 6, 3), 50))


def test_image_grid_of_a_list_of_tensors_restores_each(framework):
    images = every_value_batch()
    small = preprocess_input(images[:, :8, :8], "VGG16", data_format="channels_last")
    large = preprocess_input(images[1], "VGG16", data_format="channels_last")
    grid = image_grid(
        [framework.tensor(small, "float32"), framework.tensor(large, "float32")],
        columns=3,
        padding=0,
        model="VGG16",
        data_format="channels_last",
    )
    assert grid.shape == (16, 48, 3)
    np.testing.assert_array_equal(grid[4:12, 4:12], images[0, :8, :8])
    np.testing.assert_array_equal(grid[4:12, 20:28], images[1, :8, :8])
    np.testing.assert_array_equal(grid[:, 32:], images[1])


def test_image_grid_with_the_model_in_the_columns_place_says_to_pass_it_by_keyword():
    x = preprocess_input(every_value_batch(), "VGG16", data_format="channels_last")
    with pytest.raises(DeprocessError, match=r"columns='VGG16', which looks like the model.*model=\.\.\."):
        image_grid(x, "VGG16")


def test_image_grid_never_stretches_floats():
    with pytest.raises(DeprocessError, match="a float array is never stretched"):
        image_grid(np.random.default_rng(0).uniform(-1, 1, (2, 4, 4, 3)).astype(np.float32))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"columns": 0}, "columns"),
        ({"columns": -1}, "columns"),
        ({"padding": -2}, "padding"),
        ({"pad_value": 300}, "pad_value"),
        ({"columns": 2.5}, "columns"),
    ],
)
def test_image_grid_refuses_bad_arguments(kwargs, match):
    with pytest.raises(DeprocessError, match=match):
        image_grid(np.zeros((2, 4, 4, 3), np.uint8), **kwargs)


def test_keras_array_to_img_stretches_by_default_and_we_do_not(keras_module):
    """The docs' warning: keras's save_img/array_to_img min-max stretch unless scale=False."""
    low_contrast = np.full((4, 4, 3), 100.0, np.float32)
    low_contrast[0, 0] = 110.0
    stretched = np.asarray(keras_module.utils.array_to_img(low_contrast))
    assert (stretched.min(), stretched.max()) == (0, 255)
    ours = to_images(low_contrast, mode="identity", data_format="channels_last")
    assert (ours.min(), ours.max()) == (100, 110)
