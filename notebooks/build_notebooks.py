"""Writes the notebooks from the cell sources below (outputs stripped).

Edit the cells here and run `python notebooks/build_notebooks.py`; the
.ipynb files are generated, so their diffs stay readable in review.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent

SETUP = """import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tempfile
from pathlib import Path

import keras
import matplotlib

matplotlib.use("Agg" if os.environ.get("CI") else matplotlib.get_backend())
import matplotlib.pyplot as plt
import numpy as np

from keras_deprocess.cli import load_demo_image

# Figures go to NOTEBOOK_FIGURES when set (the README's pictures), else a temporary folder.
FIGURES = Path(os.environ.get("NOTEBOOK_FIGURES") or tempfile.mkdtemp())
FIGURES.mkdir(parents=True, exist_ok=True)
photo = load_demo_image()  # 128x128 RGB uint8, public domain (NASA)
print(keras.__version__, keras.backend.backend(), photo.shape)"""

STYLE_TRANSFER = [
    new_markdown_cell(
        "# Neural style transfer, deprocessed exactly\n\n"
        "This follows the well-known Keras neural style transfer example (Gatys et al.): an image is "
        "optimized *in VGG19's input space*, so every snapshot must be turned back into an RGB image. "
        "The Keras example hand-writes a `deprocess_image`; here `keras_deprocess.Deprocess` does it, "
        "exactly.\n\n"
        "**Nothing is downloaded**: VGG19 is built with `weights=None`, so the optimization runs but "
        'cannot produce real stylization. With `weights="imagenet"` the same code gives the familiar '
        "result. The content image is the photograph shipped with keras-deprocess; the style image is "
        "generated."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        """from keras_deprocess import Deprocess, preprocess_input, restore_original_image_from_array

size = 96
content = np.asarray(keras.utils.array_to_img(photo).resize((size, size)))
yy, xx = np.mgrid[0:size, 0:size] / size
style = np.stack([np.sin(12 * xx + 3 * yy), np.sin(9 * yy - 4 * xx), np.cos(7 * (xx + yy))], -1)
style = ((style + 1) * 127.5).astype("uint8")  # a generated, painterly-ish pattern

fig, axes = plt.subplots(1, 2, figsize=(6, 3))
for ax, image, title in zip(axes, [content, style], ["content", "style"], strict=True):
    ax.imshow(image)
    ax.set_title(title)
    ax.axis("off")
plt.show()"""
    ),
    new_markdown_cell(
        "## The model and the losses\n\n"
        'With ImageNet weights, change `weights=None` to `weights="imagenet"` (an 80 MB download) '
        "and raise the number of steps: nothing else changes."
    ),
    new_code_cell(
        """vgg = keras.applications.VGG19(weights=None, include_top=False, input_shape=(size, size, 3))
layers = {layer.name: layer.output for layer in vgg.layers}
style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1"]
content_layer = "block4_conv2"
extractor = keras.Model(vgg.inputs, [layers[name] for name in [*style_layers, content_layer]])


def gram(features):
    features = keras.ops.reshape(features, (-1, features.shape[-1]))
    return keras.ops.matmul(keras.ops.transpose(features), features) / features.shape[0]


def loss_fn(image, style_targets, content_target):
    *style_features, content_features = extractor(image)
    pairs = zip(style_features, style_targets, strict=True)
    style_loss = sum(keras.ops.mean((gram(f) - t) ** 2) for f, t in pairs)
    content_loss = keras.ops.mean((content_features - content_target) ** 2)
    return 1e-2 * style_loss + content_loss


*style_features, _ = extractor(preprocess_input(style[None], "VGG19"))
style_targets = [gram(f) for f in style_features]
content_target = extractor(preprocess_input(content[None], "VGG19"))[-1]"""
    ),
    new_markdown_cell(
        "## Optimize, and watch the image evolve\n\n"
        "The variable lives in VGG19's 'caffe' space: BGR, mean-subtracted. "
        '`Deprocess("VGG19")` rounds, clips and flips it back for every snapshot.'
    ),
    new_code_cell(
        """import tensorflow as tf

image = tf.Variable(preprocess_input(content[None], "VGG19"))
to_image = Deprocess("VGG19")  # uint8 out: rounded, clipped, BGR -> RGB
optimizer = keras.optimizers.Adam(learning_rate=4.0)
snapshots = {}
for step in range(31):
    with tf.GradientTape() as tape:
        loss = loss_fn(image, style_targets, content_target)
    optimizer.apply_gradients([(tape.gradient(loss, image), image)])
    if step % 10 == 0:
        snapshots[step] = keras.ops.convert_to_numpy(to_image(image))[0]
        print(f"step {step:3d}  loss {float(loss):.4g}")

fig, axes = plt.subplots(1, len(snapshots), figsize=(3 * len(snapshots), 3))
for ax, (step, snapshot) in zip(axes, snapshots.items(), strict=True):
    ax.imshow(snapshot)
    ax.set_title(f"step {step}")
    ax.axis("off")
plt.show()"""
    ),
    new_markdown_cell(
        "## What the usual hand-written deprocessing gets wrong\n\n"
        "Four ways to turn the optimized array back into pixels. Only the last is right:\n\n"
        '- **truncation**: `astype("uint8")` without rounding; 254.99999 becomes 254;\n'
        "- **no BGR flip**: the mean added back, channels left in VGG's BGR order;\n"
        "- **wrong mode**: deprocessed as if it were 'tf' (`(x + 1) * 127.5`);\n"
        '- **keras-deprocess**: `restore_original_image_from_array(x, "VGG19")`.'
    ),
    new_code_cell(
        """mean_bgr = np.array([103.939, 116.779, 123.68], "float32")
x = keras.ops.convert_to_numpy(image)[0]  # the optimized image, in VGG19's input space

exact = restore_original_image_from_array(x, "VGG19")  # rounded to nearest, clipped, RGB
truncated = np.clip(x[..., ::-1] + mean_bgr[::-1], 0, 255).astype("uint8")
no_flip = np.clip(np.rint(x + mean_bgr), 0, 255).astype("uint8")
wrong_mode = np.clip(np.rint((x + 1) * 127.5), 0, 255).astype("uint8")

off_by_one = int((truncated != exact).sum())
print(f"truncation: {off_by_one} of {exact.size} values one level too dark "
      f"(max difference {int(np.abs(truncated.astype(int) - exact).max())})")
print("no BGR flip: mean |difference|", float(np.abs(no_flip.astype(int) - exact).mean()))
print("wrong mode: mean |difference|", float(np.abs(wrong_mode.astype(int) - exact).mean()))

# And the exact inverse gives the content photo back, bit for bit:
assert np.array_equal(restore_original_image_from_array(preprocess_input(content, "VGG19"), "VGG19"), content)

panels = [
    (truncated, f"truncation: {off_by_one} values off by one"),
    (no_flip, "no BGR flip"),
    (wrong_mode, "wrong mode ('tf')"),
    (exact, "keras-deprocess: exact"),
]
fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
for ax, (picture, title) in zip(axes, panels, strict=True):
    ax.imshow(picture)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "style_transfer_mistakes.png", dpi=60)
plt.show()"""
    ),
    new_markdown_cell(
        "Truncation's damage is invisible but real: about half of the optimized image's values "
        "come out one level too dark, and the error compounds when an image goes through "
        "preprocess/deprocess repeatedly. The other two mistakes are plain to see."
    ),
]

FEATURE_EXTRACTION = [
    new_markdown_cell(
        "# Debugging what a feature extractor is fed\n\n"
        "A batch goes through four kinds of preprocessing: 'caffe' (VGG16), 'tf' (MobileNetV2), "
        "'torch' (DenseNet121), and the preprocessing *inside* EfficientNetB0, found with "
        "`spec_from_model`. For each: what a naive `imshow` shows, the restored image, the channel "
        "histograms, and a check that the restored batch equals the source. Then `detect_mode` "
        "names the preprocessing of an unlabeled array. Nothing is downloaded (`weights=None`)."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        """from keras_deprocess import detect_mode, restore_original_image_from_array, spec_from_model

batch = np.stack([photo, photo[:, ::-1], np.roll(photo, 40, axis=0)])  # (3, 128, 128, 3) uint8
apps = keras.applications
efficientnet = apps.EfficientNetB0(weights=None, include_top=False, input_shape=(128, 128, 3))
# The pretrained weights carry these statistics in the Normalization layer (tensorflow#49930).
normalization = efficientnet.get_layer("normalization")
normalization.adapt_mean.assign([0.485, 0.456, 0.406])
normalization.adapt_variance.assign([0.229, 0.224, 0.225])
normalization.finalize_state()
stem = keras.Model(efficientnet.input, efficientnet.get_layer("stem_conv_pad").input)

inputs = {
    "VGG16 (caffe)": (apps.vgg16.preprocess_input(batch.astype("float32")), "VGG16"),
    "MobileNetV2 (tf)": (apps.mobilenet_v2.preprocess_input(batch.astype("float32")), "MobileNetV2"),
    "DenseNet121 (torch)": (apps.densenet.preprocess_input(batch.astype("float32")), "DenseNet121"),
    "EfficientNetB0 (in-network)": (
        keras.ops.convert_to_numpy(stem(batch.astype("float32"))),
        spec_from_model(efficientnet),
    ),
}
print(spec_from_model(efficientnet), "|", spec_from_model(efficientnet).description)"""
    ),
    new_markdown_cell(
        "## Naive `imshow` against the restored image\n\n"
        "`plt.imshow` clips float RGB to [0, 1] and shows channels as stored, so a preprocessed array "
        "looks washed out, black, or blue. The restored one is the photograph."
    ),
    new_code_cell(
        """fig, axes = plt.subplots(2, len(inputs), figsize=(3.2 * len(inputs), 6.4))
for column, (name, (x, model)) in enumerate(inputs.items()):
    restored = restore_original_image_from_array(x, model)
    axes[0, column].imshow(np.clip(x[0], 0, 1))
    axes[0, column].set_title(f"naive imshow\\n{name}", fontsize=9)
    axes[1, column].imshow(restored[0])
    axes[1, column].set_title("restored", fontsize=9)
    for ax in axes[:, column]:
        ax.axis("off")
    assert np.array_equal(restored, batch), name
fig.tight_layout()
fig.savefig(FIGURES / "feature_extraction_naive_vs_restored.png", dpi=50)
plt.show()
print("every restored batch equals the source batch exactly")"""
    ),
    new_markdown_cell("## Per-channel histograms, before and after"),
    new_code_cell(
        """fig, axes = plt.subplots(2, len(inputs), figsize=(3.2 * len(inputs), 5))
colors = ["red", "green", "blue"]
for column, (name, (x, model)) in enumerate(inputs.items()):
    restored = restore_original_image_from_array(x, model)
    for channel, color in enumerate(colors):
        axes[0, column].hist(x[..., channel].ravel(), bins=64, color=color, alpha=0.5)
        axes[1, column].hist(restored[..., channel].ravel(), bins=64, range=(0, 255), color=color, alpha=0.5)
    axes[0, column].set_title(f"{name}: as fed", fontsize=9)
    axes[1, column].set_title("restored (R, G, B)", fontsize=9)
fig.tight_layout()
plt.show()"""
    ),
    new_markdown_cell(
        "## Which preprocessing made this array?\n\n"
        "`detect_mode` inverts the array with every registered mode and preset, and scores each "
        "result as an image: inside [0, 255]? whole-numbered, as uint8-born images are? spread like "
        "a photograph?"
    ),
    new_code_cell(
        """unlabeled = inputs["DenseNet121 (torch)"][0]
for guess in detect_mode(unlabeled)[:3]:
    print(f"{guess.name:<8} confidence {guess.confidence:6.1%}  out of range {guess.out_of_range:6.2%}  "
          f"quantization {guess.quantization:.4f}  aliases {guess.aliases}")
best = detect_mode(unlabeled)[0]
assert best.name == "torch"
assert np.array_equal(restore_original_image_from_array(unlabeled, best.spec), batch)"""
    ),
]


TORCH_SETUP = """import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg" if os.environ.get("CI") else matplotlib.get_backend())
import matplotlib.pyplot as plt
import numpy as np
import torch

from keras_deprocess.images import demo_image

# Figures go to NOTEBOOK_FIGURES when set (the README's pictures), else a temporary folder.
FIGURES = Path(os.environ.get("NOTEBOOK_FIGURES") or tempfile.mkdtemp())
FIGURES.mkdir(parents=True, exist_ok=True)
photo = demo_image()  # 128x128 RGB uint8, public domain (NASA)
print(torch.__version__, photo.shape)"""

PYTORCH_NORMALIZE = [
    new_markdown_cell(
        "# PyTorch: undoing `ToTensor()` + `Normalize(mean, std)` exactly\n\n"
        "A torchvision pipeline, a CLIP preprocess and a VAE's [-1, 1] output all end in a float "
        "tensor shaped (N, 3, H, W) that neither `plt.imshow` nor `PIL.Image.fromarray` can show. "
        "keras-deprocess handles torch tensors natively, on any device, whatever `KERAS_BACKEND` "
        "says, and this notebook never imports TensorFlow or Keras.\n\n"
        "torchvision has no CPU build on the machines that run this notebook in the tests, so its "
        "two transforms are written out in torch below, exactly as torchvision computes them."
    ),
    new_code_cell(TORCH_SETUP),
    new_code_cell(
        """IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ToTensor:  # torchvision.transforms.ToTensor: HWC uint8 -> CHW float in [0, 1]
    def __call__(self, image):
        return torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1))).float().div(255)


class Normalize:  # torchvision.transforms.Normalize
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, tensor):
        mean = torch.as_tensor(self.mean).view(-1, 1, 1)
        std = torch.as_tensor(self.std).view(-1, 1, 1)
        return (tensor - mean) / std


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


preprocess = Compose([ToTensor(), Normalize(IMAGENET_MEAN, IMAGENET_STD)])
crops = [photo[y : y + 64, x : x + 64] for y in (0, 32, 64) for x in (0, 32, 64)][:8]
originals = np.stack(crops)  # (8, 64, 64, 3) uint8: what we want back
batch = torch.stack([preprocess(crop) for crop in crops])  # (8, 3, 64, 64) float32
print(batch.shape, batch.dtype, f"range [{batch.min():.2f}, {batch.max():.2f}]")"""
    ),
    new_markdown_cell(
        "## What a naive `imshow` shows\n\n"
        "Permuting to HWC is not enough: `imshow` clips floats to [0, 1], so the normalized tensor "
        "looks dark and blotchy."
    ),
    new_code_cell(
        """naive = batch[0].permute(1, 2, 0).numpy()
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
axes[0].imshow(np.clip(naive, 0, 1))
axes[0].set_title("naive imshow", fontsize=9)
axes[1].imshow(originals[0])
axes[1].set_title("the original", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()"""
    ),
    new_markdown_cell(
        "## The usual recipe: `Normalize(-mean/std, 1/std)`, then `mul(255).byte()`\n\n"
        'This is the answer usually given to torchvision\'s "Un-Normalize" request, followed by what '
        "`to_pil_image` does to a float tensor. It is close: the pictures look right. But `byte()` "
        "truncates, and the inverse in float32 lands a hair below whole numbers."
    ),
    new_code_cell(
        """inverse_mean = [-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
unnormalize = Normalize(inverse_mean, [1 / s for s in IMAGENET_STD])
recipe = unnormalize(batch).mul(255).byte().permute(0, 2, 3, 1).numpy()
off = recipe.astype(int) - originals
print(f"the recipe: {np.count_nonzero(off)} of {off.size} values wrong, "
      f"{np.count_nonzero(off == -1)} of them one level too dark")"""
    ),
    new_markdown_cell("## The exact inverse: `to_images` and `image_grid`"),
    new_code_cell(
        """import sys

from keras_deprocess import get_spec, image_grid, to_images

restored = to_images(batch, preprocess)  # the pipeline itself is the handle; (N, H, W, 3) uint8
print(get_spec(preprocess))
assert np.array_equal(restored, originals), "not exact"
print(f"exact: all {restored.size} values equal the originals")
print("frameworks imported:", sorted(m for m in ("tensorflow", "keras", "jax") if m in sys.modules) or "none")

grid = image_grid(batch, columns=4, model=preprocess)  # like torchvision's make_grid, after the inverse
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
as_bytes = np.clip(batch.permute(0, 2, 3, 1).numpy() * 255, 0, 255).astype(np.uint8)
axes[0].imshow(image_grid(as_bytes, columns=4))
axes[0].set_title("naive: the normalized tensor as an image", fontsize=9)
axes[1].imshow(grid)
axes[1].set_title("image_grid(batch, model=preprocess): exact", fontsize=9)
for ax in axes:
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "pytorch_naive_vs_exact.png", dpi=60)
plt.show()"""
    ),
    new_markdown_cell(
        "## CLIP, and a VAE's [-1, 1] output\n\n"
        "CLIP normalizes with its own mean and std (the `clip` preset); VAEs and diffusion models "
        "work in [-1, 1], mean = std = 0.5 (the `half` preset). A tensor that requires grad is "
        "fine: uint8 output never touches autograd, and float output stays differentiable."
    ),
    new_code_cell(
        """from keras_deprocess import restore_original_image_from_array

CLIP_MEAN, CLIP_STD = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
clip_batch = Compose([ToTensor(), Normalize(CLIP_MEAN, CLIP_STD)])
clip_input = torch.stack([clip_batch(crop) for crop in crops])
assert np.array_equal(to_images(clip_input, "clip"), originals)

latent_decoded = (torch.stack([ToTensor()(crop) for crop in crops]) * 2 - 1).requires_grad_()  # [-1, 1]
assert np.array_equal(to_images(latent_decoded, "half"), originals)
as_float = restore_original_image_from_array(latent_decoded, "half", dtype="float32", clip=False)
as_float.mean().backward()  # differentiable: d pixel / d input = 127.5
slope = float(latent_decoded.grad.flatten()[0] * as_float.numel())
print("CLIP exact, VAE exact; d pixel / d input:", slope)"""
    ),
]

COLORIZATION = [
    new_markdown_cell(
        "# Colorization in CIE Lab, restored exactly\n\n"
        'A colorizer in the manner of Zhang et al., "Colorful Image Colorization": the network sees '
        "L normalized as `(L - 50) / 100` and predicts ab normalized as `ab / 110`, at a lower "
        "resolution. Postprocessing upsamples ab to L's resolution, puts L in front, and converts Lab "
        "to RGB: `merge_l_ab`, then the `'colorization'` spec.\n\n"
        "The model below is tiny and trained for a few seconds on crops of the shipped photograph "
        "(CPU, `weights=None`, nothing downloaded), so its colours are rough; what matters is that "
        "every step after the network is exact. The usual mistakes are measured at the end "
        "(they use scikit-image, `pip install scikit-image`)."
    ),
    new_code_cell(SETUP),
    new_code_cell(
        """from keras_deprocess import (
    merge_l_ab,
    out_of_gamut,
    preprocess_input,
    restore_original_image_from_array,
    to_images,
)

rng = np.random.default_rng(0)
size = 32
corners = rng.integers(0, photo.shape[0] - size, (384, 2))
crops = np.stack([photo[y : y + size, x : x + size] for y, x in corners])  # (384, 32, 32, 3) uint8
lab = preprocess_input(crops, "colorization", data_format="channels_last")  # (L - 50) / 100, ab / 110
l_input = lab[..., :1]
# ab at half resolution, 16x16, as the network predicts it (Zhang et al.'s: a quarter).
ab_target = keras.ops.convert_to_numpy(keras.layers.AveragePooling2D(2)(lab[..., 1:]))
print(f"L in [{l_input.min():.3f}, {l_input.max():.3f}]")
print(f"ab in [{ab_target.min():.3f}, {ab_target.max():.3f}]")"""
    ),
    new_markdown_cell("## A tiny Functional colorizer: L at 32x32 in, ab at 16x16 out"),
    new_code_cell(
        """keras.utils.set_random_seed(0)
inputs = keras.Input((size, size, 1))
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
h = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
ab_output = keras.layers.Conv2D(2, 1, activation="tanh")(h)  # ab / 110 lies in about [-1, 1]
colorizer = keras.Model(inputs, ab_output)
colorizer.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
history = colorizer.fit(l_input, ab_target, epochs=12, batch_size=32, verbose=0)
print(f"loss {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}")"""
    ),
    new_markdown_cell(
        "## Postprocessing: `merge_l_ab`, then restore\n\n"
        "The prediction stays normalized; the spec knows how to undo it, and where the predicted Lab "
        "leaves the sRGB gamut, restoring clips channel by channel, as skimage does, but "
        "`out_of_gamut` says where and how often."
    ),
    new_code_cell(
        """corners = [(20, 40), (60, 10), (90, 70), (40, 90)]
test = np.stack([photo[y : y + size, x : x + size] for y, x in corners])
test_lab = preprocess_input(test, "colorization", data_format="channels_last")
predicted_ab = colorizer.predict(test_lab[..., :1], verbose=0)  # (4, 16, 16, 2)
merged = merge_l_ab(test_lab[..., :1], predicted_ab, data_format="channels_last")  # (4, 32, 32, 3)
colorized = to_images(merged, "colorization", data_format="channels_last")
gamut = out_of_gamut(merged, "colorization", data_format="channels_last")
print(f"out of gamut: {gamut.count} of {gamut.pixels} pixels clipped ({gamut.negative_z} with negative Z)")
truth = to_images(test_lab, "colorization", data_format="channels_last")
assert np.array_equal(truth, test)  # the true Lab restores exactly

fig, axes = plt.subplots(4, 4, figsize=(8, 8))
for row in range(4):
    panels = [
        (test_lab[row, ..., 0], "L input", "gray"),
        (predicted_ab[row, ..., 0], "predicted a (16x16)", "RdYlGn_r"),
        (colorized[row], "restored", None),
        (test[row], "ground truth", None),
    ]
    for ax, (picture, title, cmap) in zip(axes[row], panels, strict=True):
        ax.imshow(picture, cmap=cmap)
        ax.set_title(title if row == 0 else "", fontsize=9)
        ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "colorization_restored.png", dpi=50)
plt.show()"""
    ),
    new_markdown_cell(
        "## The usual mistakes, each measured\n\n"
        "Each hand-written postprocess is run on the true Lab of the test crops (the tiny model's "
        "colours are too pale to show the damage), and its mean absolute error, in levels, is "
        "measured against the original pixels."
    ),
    new_code_cell(
        """import warnings

from skimage import color

exact = restore_original_image_from_array(test_lab, "colorization", data_format="channels_last")
L = test_lab[..., :1] * 100 + 50
ab = test_lab[..., 1:] * 110


def to_rgb(lab_values, truncate=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns about the negative Z it clips
        rgb = np.clip(color.lab2rgb(lab_values), 0, 1) * 255
    return rgb.astype(np.uint8) if truncate else np.rint(rgb).astype(np.uint8)


mistakes = {
    "x 110 forgotten": to_rgb(np.concatenate([L, test_lab[..., 1:]], -1)),
    "+ 50 forgotten": to_rgb(np.concatenate([test_lab[..., :1] * 100, ab], -1)),
    "ab clipped to [0, 1] first": to_rgb(np.concatenate([L, np.clip(test_lab[..., 1:], 0, 1) * 110], -1)),
    "truncation (astype)": to_rgb(np.concatenate([L, ab], -1), truncate=True),
    "exact (keras-deprocess)": exact,
}
errors = {name: float(np.abs(rgb.astype(int) - test).mean()) for name, rgb in mistakes.items()}
off_by_one = int(np.count_nonzero(mistakes["truncation (astype)"] != test))
for name, error in errors.items():
    print(f"{name:<26} mean |error| {error:6.2f} levels")
wrong_scale = color.rgb2lab(test.astype("float64"))  # 0-255 floats: rgb2lab expects [0, 1]
print(f"0-255 passed to rgb2lab: L up to {wrong_scale[..., 0].max():.0f} (should be at most 100)")
print(f"truncation: {off_by_one} of {test.size} values one level off")

fig, axes = plt.subplots(1, len(mistakes), figsize=(2.6 * len(mistakes), 3))
for ax, (name, rgb) in zip(axes, mistakes.items(), strict=True):
    ax.imshow(rgb[1])  # the orange suit
    ax.set_title(f"{name}\\n{errors[name]:.2f} levels", fontsize=8)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "colorization_mistakes.png", dpi=60)
plt.show()
assert errors["exact (keras-deprocess)"] == 0.0"""
    ),
]

GEOMETRY_SETUP = """import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg" if os.environ.get("CI") else matplotlib.get_backend())
import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from keras_deprocess.images import demo_image

# Figures go to NOTEBOOK_FIGURES when set (the README's pictures), else a temporary folder.
FIGURES = Path(os.environ.get("NOTEBOOK_FIGURES") or tempfile.mkdtemp())
FIGURES.mkdir(parents=True, exist_ok=True)
# The shipped photograph (public domain, NASA), enlarged to 300x420 so that crops matter.
photo = np.asarray(Image.fromarray(demo_image()).resize((420, 300), Image.Resampling.BICUBIC))
original_size = photo.shape[:2]  # (height, width)
print(torch.__version__, photo.shape)"""

GEOMETRY = [
    new_markdown_cell(
        "# Back to the original picture\n\n"
        "Almost every pipeline resizes and crops before it normalizes: torchvision's "
        "`weights.transforms()` resizes to 256 and keeps the centre 224, timm trims by `crop_pct`, "
        "YOLO letterboxes. So the model never sees your photo, only part of it, smaller, maybe with "
        "borders. This notebook puts the model's input back on the photo, shows which pixels the model "
        "saw (the mask), and maps a box predicted on the input back onto the photo, exactly; beside it, "
        "the usual mistake, a box scaled back by the resize factor alone, measured in pixels.\\n\\n"
        "torchvision has no CPU build on the machines that run this notebook in the tests, so its "
        "transforms are written out in torch below as torchvision computes them (the shorter side "
        "resized, the longer truncated; the crop offset rounded half to even); timm's and "
        "ultralytics' steps likewise."
    ),
    new_code_cell(GEOMETRY_SETUP),
    new_markdown_cell(
        "## A torchvision ImageNet pipeline: `Resize(256)`, `CenterCrop(224)`, `ToTensor`, `Normalize`"
    ),
    new_code_cell(
        """IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def to_chw(image):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(image).transpose(2, 0, 1))).float()


class Resize:  # torchvision.transforms.Resize(int): the shorter side to `size`, the longer truncated
    def __init__(self, size, max_size=None):
        self.size, self.max_size = size, max_size

    def __call__(self, image):
        height, width = image.shape[:2]
        short, long = min(height, width), max(height, width)
        new_short, new_long = self.size, int(self.size * long / short)
        new_h, new_w = (new_long, new_short) if width <= height else (new_short, new_long)
        resized = torch.nn.functional.interpolate(
            to_chw(image)[None], size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=True
        )
        return resized[0].round().clamp(0, 255).byte().permute(1, 2, 0).numpy()


class CenterCrop:  # torchvision.transforms.CenterCrop: offsets int(round((n - c) / 2)), half to even
    def __init__(self, size):
        self.size = (size, size)

    def __call__(self, image):
        (crop_h, crop_w), (height, width) = self.size, image.shape[:2]
        top, left = round((height - crop_h) / 2.0), round((width - crop_w) / 2.0)  # Python's round
        return image[top : top + crop_h, left : left + crop_w]


class ToTensor:
    def __call__(self, image):
        return to_chw(image).div(255)


class Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, tensor):
        return (tensor - torch.tensor(self.mean).view(-1, 1, 1)) / torch.tensor(self.std).view(-1, 1, 1)


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, image):
        for transform in self.transforms:
            image = transform(image)
        return image


preprocess = Compose([Resize(256), CenterCrop(224), ToTensor(), Normalize(IMAGENET_MEAN, IMAGENET_STD)])
x = preprocess(photo)  # (3, 224, 224) float32: what the model sees
print(x.shape, x.dtype)"""
    ),
    new_markdown_cell(
        "## What the model saw, on the photo\n\n"
        "`to_original(x, preprocess, original_size=...)` reads both maps from the pipeline: the values "
        "(`ToTensor`, `Normalize`), undone exactly, and the geometry (`Resize`, `CenterCrop`), undone by "
        "resampling onto the photo. `fill` can be the photo itself, here darkened, to show what was cut."
    ),
    new_code_cell(
        """from keras_deprocess import geometry_for, to_images, to_original

dimmed = (photo * 0.35).astype(np.uint8)
canvas = to_original(x, preprocess, original_size=original_size, fill=dimmed)
geometry = canvas.geometry
print(geometry.steps)
print("input", geometry.input_size, "scale", geometry.scale, "offset", geometry.offset)
print(f"the model saw {canvas.mask.mean():.0%} of the photo: rows and columns {geometry.mask_bounds}")
inside = canvas.mask
psnr = 10 * np.log10(255**2 / np.mean((canvas.image[inside].astype(float) - photo[inside]) ** 2))
print(f"inside the mask: {psnr:.1f} dB against the photo (what the 224-pixel input keeps)")

fig, axes = plt.subplots(1, 4, figsize=(13, 3))
panels = [
    (photo, "the photo, 300x420"),
    (to_images(x, preprocess), "the model's input, 224x224"),
    (canvas.image, "to_original: the input on the photo"),
    (canvas.mask, "the mask: what the model saw"),
]
for ax, (picture, title) in zip(axes, panels, strict=True):
    ax.imshow(picture, cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "geometry_on_the_photo.png", dpi=60)
plt.show()"""
    ),
    new_markdown_cell(
        "## A box on the input, mapped back\n\n"
        "A detector or a Grad-CAM peak gives coordinates on the model's input. `geometry.to_original` "
        "maps points `(..., 2)` and boxes `(..., 4)` back, in any framework. The usual mistake divides "
        "by the resize factor alone and forgets the crop offset: the box lands "
        "`offset / scale` pixels off. Here the box is known on the photo (the face), mapped to the "
        "input as a perfect prediction would give it, then mapped back both ways."
    ),
    new_code_cell(
        """face = np.array([135.0, 25.0, 240.0, 115.0])  # (x0, y0, x1, y1) on the photo
predicted = geometry.to_input(torch.tensor(face, dtype=torch.float64))  # what the model would output
exact = geometry.to_original(predicted).numpy()
resize_factor = 256 / 300  # the shorter side's resize, crop forgotten
naive = predicted.numpy() / resize_factor
exact_error = np.abs(exact - face).max()
naive_error = np.abs(naive - face).max()
print(f"predicted on the input: {predicted.numpy().round(1)}")
print(f"mapped back exactly: error {exact_error:.1e} px")
print(f"scaled by the resize factor alone: {naive_error:.1f} px off")
assert exact_error < 1e-9
assert naive_error > 50


def draw(ax, box, colour, label):
    x0, y0, x1, y1 = box
    rectangle = plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color=colour, linewidth=2, label=label)
    ax.add_patch(rectangle)"""
    ),
    new_markdown_cell(
        "## A timm config and a YOLO letterbox\n\n"
        "A timm data config with `crop_mode='border'` fits the photo inside the crop and pads with the "
        "mean colour; ultralytics' `LetterBox` resizes to fit and pads with grey, the odd pixel at the "
        "bottom (`round(d / 2 ± 0.1)`). The padding is not the picture: the mask leaves it out, and "
        "`to_original` never samples it."
    ),
    new_code_cell(
        """import math

from keras_deprocess import Letterbox, spec_from_mean_std

timm_config = {
    "input_size": (3, 224, 224),
    "crop_pct": 0.95,
    "crop_mode": "border",
    "mean": IMAGENET_MEAN,
    "std": IMAGENET_STD,
}


def timm_border(image, config):  # timm's ResizeKeepRatio(longest=1), then CenterCropOrPad(fill=mean)
    target = tuple(math.floor(s / config["crop_pct"]) for s in config["input_size"][1:])
    height, width = image.shape[:2]
    ratio = max(height / target[0], width / target[1])  # longest=1: fit inside
    size = (round(height / ratio), round(width / ratio))  # Python's round, half to even
    chw = torch.nn.functional.interpolate(to_chw(image)[None], size=size, mode="bilinear", antialias=True)[0]
    chw = chw.round().clamp(0, 255)
    crop_h, crop_w = config["input_size"][1:]
    pad_h, pad_w = max(crop_h - size[0], 0), max(crop_w - size[1], 0)  # pad where smaller: odd pixel after
    fill = [round(255 * m) for m in config["mean"]]
    padded = torch.tensor(fill, dtype=torch.float32).view(3, 1, 1).repeat(1, size[0] + pad_h, size[1] + pad_w)
    padded[:, pad_h // 2 : pad_h // 2 + size[0], pad_w // 2 : pad_w // 2 + size[1]] = chw
    top = round((padded.shape[1] - crop_h) / 2.0)  # then crop where larger: half to even
    left = round((padded.shape[2] - crop_w) / 2.0)
    out = padded[:, top : top + crop_h, left : left + crop_w]
    return Normalize(config["mean"], config["std"])(out / 255)


def letterbox(image, new_shape=320, padding_value=114):  # ultralytics' LetterBox(center=True, auto=False)
    height, width = image.shape[:2]
    r = min(new_shape / height, new_shape / width)
    new_w, new_h = round(width * r), round(height * r)
    dw, dh = (new_shape - new_w) / 2, (new_shape - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    resized = torch.nn.functional.interpolate(to_chw(image)[None], size=(new_h, new_w), mode="bilinear")[0]
    padded = torch.nn.functional.pad(resized.round(), (left, right, top, bottom), value=padding_value)
    return padded / 255  # YOLO's input: pixels / 255


x_timm = timm_border(photo, timm_config)
x_yolo = letterbox(photo)
canvas_timm = to_original(x_timm, timm_config, original_size=original_size, fill=dimmed)
yolo_spec = spec_from_mean_std(0.0, 1.0, scale=1 / 255, name="yolo")
canvas_yolo = to_original(
    x_yolo, yolo_spec, original_size=original_size, geometry=[Letterbox(320)], fill=dimmed
)
for name, c in [("timm border", canvas_timm), ("letterbox", canvas_yolo)]:
    print(f"{name}: input {c.geometry.input_size}, picture on the input {c.geometry.content}, "
          f"{c.mask.mean():.0%} of the photo seen")"""
    ),
    new_code_cell(
        """yolo = canvas_yolo.geometry
predicted_yolo = yolo.to_input(face)
exact_yolo = yolo.to_original(predicted_yolo)
r = min(320 / 300, 320 / 420)
naive_yolo = predicted_yolo / r  # the gain alone, the letterbox padding forgotten
yolo_error = np.abs(naive_yolo - face).max()
print(f"letterbox: exact error {np.abs(exact_yolo - face).max():.1e} px")
print(f"the gain alone, padding forgotten: {yolo_error:.1f} px off")

fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
rows = [
    ("torchvision", x, preprocess, canvas, predicted.numpy(), naive, naive_error),
    ("YOLO letterbox", x_yolo, yolo_spec, canvas_yolo, predicted_yolo, naive_yolo, yolo_error),
]
for row, (name, inputs, handle, c, on_input, wrong, error) in zip(axes, rows, strict=True):
    row[0].imshow(to_images(inputs, handle))
    draw(row[0], on_input, "lime", "predicted")
    row[0].set_title(f"{name}: the input and a predicted box", fontsize=9)
    row[1].imshow(c.image)
    row[1].set_title("the input on the photo (to_original)", fontsize=9)
    row[2].imshow(photo)
    draw(row[2], face, "lime", "mapped back exactly")
    draw(row[2], wrong, "red", f"resize factor alone: {error:.0f} px off")
    row[2].legend(loc="lower right", fontsize=7)
    row[2].set_title("the box on the photo", fontsize=9)
    for ax in row:
        ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "geometry_boxes.png", dpi=60)
plt.show()

fig, axes = plt.subplots(1, 3, figsize=(11, 3))
for ax, (picture, title) in zip(
    axes,
    [
        (to_images(x_timm, timm_config), "timm border: the input, padded with the mean"),
        (canvas_timm.image, "on the photo"),
        (canvas_timm.mask, "the mask: all but the edges the crop cut"),
    ],
    strict=True,
):
    ax.imshow(picture, cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "geometry_timm_border.png", dpi=60)
plt.show()
assert geometry_for(timm_config, original_size) == canvas_timm.geometry"""
    ),
]

DEBUGGING = [
    new_markdown_cell(
        "# Debugging what the model sees\n\n"
        "What a model saw, and what it did with it. A small Keras CNN learns to tell discs from squares "
        "on crops of the shipped photograph; then:\n\n"
        "- **Grad-CAM with `overlay`**: the heatmap drawn over the *exact* input image, resampled with "
        "half-pixel centres, and over the original photo through the pipeline's geometry (resize and "
        "crop undone), beside the usual mistake of stretching it over the whole photo;\n"
        "- **the same through the pytorch-grad-cam recipe**, written in torch on the same weights: "
        '`overlay(..., compat="pytorch-grad-cam")` gives its `show_cam_on_image` picture bit for bit;\n'
        "- **`audit`** on a `tf.data` pipeline that normalizes twice;\n"
        "- **`LogInputs`** in a short `fit`: the exact training images in TensorBoard, read back.\n\n"
        "Nothing is downloaded: the CNN is built from scratch (`weights=None` throughout) and trains "
        "for a few seconds."
    ),
    new_code_cell(SETUP),
    new_markdown_cell(
        "## Generated shapes, and a small CNN\n\n"
        "Each 64x64 scene is a random crop of the photo, dimmed, with one bright disc or square. The "
        "inputs are MobileNetV2's preprocessing ('tf': `x / 127.5 - 1`)."
    ),
    new_code_cell(
        """import tensorflow as tf

from keras_deprocess import preprocess_input

SIZE = 64
rng = np.random.default_rng(0)


def paste(picture, kind, rng):
    # a bright disc (kind 0) or square (kind 1) somewhere on the picture
    height, width = picture.shape[:2]
    radius = int(rng.integers(7, 11))
    cy = int(rng.integers(radius + 1, height - radius - 1))
    cx = int(rng.integers(radius + 1, width - radius - 1))
    yy, xx = np.mgrid[:height, :width]
    if kind == 0:
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    else:
        inside = (np.abs(yy - cy) <= 0.85 * radius) & (np.abs(xx - cx) <= 0.85 * radius)
    out = picture.copy()
    out[inside] = rng.integers(170, 256, 3)
    return out


def scene(kind, rng):
    top, left = rng.integers(0, 128 - SIZE, 2)
    background = (photo[top : top + SIZE, left : left + SIZE] * 0.5).astype(np.uint8)
    return paste(background, kind, rng)


labels = rng.integers(0, 2, 1600)
scenes = np.stack([scene(kind, rng) for kind in labels])  # (1600, 64, 64, 3) uint8
x = preprocess_input(scenes, "MobileNetV2")  # what the network is fed

inputs = keras.Input((SIZE, SIZE, 3))
h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
h = keras.layers.MaxPooling2D()(h)
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
h = keras.layers.MaxPooling2D()(h)
h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="last_conv")(h)
h = keras.layers.GlobalAveragePooling2D()(h)
cnn = keras.Model(inputs, keras.layers.Dense(2)(h), name="shapes")
cnn.compile(
    keras.optimizers.Adam(3e-3),
    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = cnn.fit(
    x[:1400], labels[:1400], batch_size=64, epochs=6, verbose=0, validation_data=(x[1400:], labels[1400:])
)
accuracy = history.history["val_accuracy"][-1]
print(f"validation accuracy {accuracy:.0%} after {len(history.epoch)} short epochs")"""
    ),
    new_markdown_cell(
        "## Grad-CAM, drawn with `overlay`\n\n"
        "Grad-CAM weighs the last convolution's maps by the mean gradient of the class score and keeps "
        'the positive part: a 16x16 map for a 64x64 input. `overlay(x, cam, "MobileNetV2")` restores '
        "the exact image from `x`, min-max scales each heatmap (nothing else is stretched), resamples it "
        "bilinearly with half-pixel centres, indexes OpenCV's JET with `round(255 t)` and blends "
        "`round((1 - alpha) image + alpha colour)`."
    ),
    new_code_cell(
        """from keras_deprocess import overlay

grad_model = keras.Model(cnn.input, [cnn.get_layer("last_conv").output, cnn.output])


def grad_cam(batch, classes):
    with tf.GradientTape() as tape:
        maps, logits = grad_model(batch)
        score = tf.gather(logits, classes, axis=1, batch_dims=1)
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))
    return tf.nn.relu(tf.einsum("nhwc,nc->nhw", maps, weights)).numpy()


test_x, test_labels = x[1400:1406], labels[1400:1406]
cam = grad_cam(test_x, test_labels)  # (6, 16, 16)
drawn = overlay(test_x, cam, "MobileNetV2", alpha=0.45)  # (6, 64, 64, 3) uint8
print(cam.shape, "->", drawn.shape, drawn.dtype)

fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for column in range(6):
    axes[0, column].imshow(scenes[1400 + column])
    axes[0, column].set_title(["disc", "square"][test_labels[column]], fontsize=9)
    axes[1, column].imshow(drawn[column])
    axes[1, column].set_title("overlay(x, cam)", fontsize=9)
for ax in axes.ravel():
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "debugging_gradcam.png", dpi=60)
plt.show()"""
    ),
    new_markdown_cell(
        "## On the original photo\n\n"
        "A photo is rarely fed as it is: here a 96x128 crop of the photograph, with a disc on it, goes "
        "through torchvision's `Resize(64)` (64x85) and `CenterCrop(64)` (10 columns cut on the left). "
        "`overlay(..., geometry=...)` maps each photo pixel through that geometry to the heatmap; the "
        "columns the model never saw keep the photo's own colours (`fill=` the photo). The common "
        "shortcut, the heatmap stretched over the whole photo (keras-io's Grad-CAM example does that), "
        "forgets the crop: its peak lands beside the disc."
    ),
    new_code_cell(
        """from PIL import Image

from keras_deprocess import CenterCrop, Geometry, Resize

original = paste((photo[16:112] * 0.5).astype(np.uint8), 0, np.random.default_rng(3))  # (96, 128, 3)
geometry = Geometry(original.shape[:2], (Resize(64), CenterCrop(64)))
resized = np.asarray(Image.fromarray(original).resize((85, 64), Image.BILINEAR))  # shorter side 64: 64x85
left = round((85 - 64) / 2)  # torchvision's crop offset, int(round(10.5)) = 10
model_input = preprocess_input(resized[None, :, left : left + 64], "MobileNetV2")
photo_cam = grad_cam(model_input, np.array([0]))  # the disc class

on_photo = overlay(model_input, photo_cam, "MobileNetV2", geometry=geometry, fill=original, alpha=0.45)
stretched = overlay(original, photo_cam[0], alpha=0.45)  # the heatmap over the whole photo: crop forgotten
print("input", geometry.input_size, "scale", geometry.scale, "offset", geometry.offset)

peak = np.unravel_index(np.argmax(photo_cam[0]), photo_cam[0].shape)  # a 4x4-pixel cell of the input
centre_on_input = np.array([(peak[1] + 0.5) * 4, (peak[0] + 0.5) * 4])
exact_peak = geometry.to_original(centre_on_input)
naive_peak = centre_on_input * np.array([128 / 64, 96 / 64])
print(f"the peak on the photo: {exact_peak.round(1)} exactly, {naive_peak.round(1)} stretched "
      f"({np.abs(naive_peak - exact_peak).max():.1f} px off)")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
panels = [
    (original, "the photo, 96x128"),
    (on_photo[0], "overlay(..., geometry=Resize(64), CenterCrop(64))"),
    (stretched, "the heatmap stretched over the photo"),
]
for ax, (picture, title) in zip(axes, panels, strict=True):
    ax.imshow(picture)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "debugging_on_the_photo.png", dpi=60)
plt.show()"""
    ),
    new_markdown_cell(
        "## The same through the pytorch-grad-cam recipe, in torch\n\n"
        "The CNN's weights, copied into the same network written in torch; Grad-CAM computed as "
        "pytorch-grad-cam computes it (activations and gradients of the target layer, their mean as "
        "weights, ReLU, `scale_cam_image`'s min-max with `1e-7`, resized to the input), and drawn as "
        "its `show_cam_on_image` draws it, written out below without OpenCV: OpenCV's JET indexed by "
        "`np.uint8(255 * mask)`, a float32 blend divided by its maximum, truncated. "
        '`overlay(..., compat="pytorch-grad-cam")` gives the same picture bit for bit; the default '
        "differs by a few levels, from the truncations and the stretch of the brightest channel to 255."
    ),
    new_code_cell(
        """import torch

from keras_deprocess.overlays.colormaps import opencv_jet  # OpenCV's table; the tests hold OpenCV's values

conv_layers = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
torch_cnn = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 2),
)
with torch.no_grad():
    for conv, layer in zip([torch_cnn[0], torch_cnn[3], torch_cnn[6]], conv_layers, strict=True):
        kernel, bias = layer.get_weights()
        conv.weight.copy_(torch.from_numpy(kernel).permute(3, 2, 0, 1))  # HWIO -> OIHW
        conv.bias.copy_(torch.from_numpy(bias))
    dense_kernel, dense_bias = cnn.layers[-1].get_weights()
    torch_cnn[-1].weight.copy_(torch.from_numpy(dense_kernel.T))
    torch_cnn[-1].bias.copy_(torch.from_numpy(dense_bias))

input_tensor = torch.from_numpy(test_x).permute(0, 3, 1, 2).contiguous()  # NCHW, as torch models take it
target_layer = torch_cnn[7]  # the last convolution's ReLU, pytorch-grad-cam's usual target
saved = {}
handle = target_layer.register_forward_hook(lambda module, args, output: saved.update(activations=output))
logits = torch_cnn(input_tensor)
score = logits[torch.arange(6), torch.from_numpy(test_labels)].sum()  # ClassifierOutputTarget per image
gradients = torch.autograd.grad(score, saved["activations"])[0]
handle.remove()
activations, gradients = saved["activations"].detach().numpy(), gradients.numpy()
weights = np.mean(gradients, axis=(2, 3))  # GradCAM.get_cam_weights
torch_cam = np.maximum((weights[:, :, None, None] * activations).sum(axis=1), 0)
print("Keras and torch CAMs agree to", float(np.abs(torch_cam - cam).max()))


def scale_cam_image(cams, target_size):  # pytorch-grad-cam's, with cv2.resize as torch's bilinear
    result = []
    for img in cams:
        img = img - np.min(img)
        img = img / (1e-7 + np.max(img))
        resized = torch.nn.functional.interpolate(
            torch.from_numpy(np.float32(img))[None, None],
            size=target_size,
            mode="bilinear",
            align_corners=False,
        )
        result.append(resized[0, 0].numpy())
    return np.float32(result)


def show_cam_on_image(img, mask, use_rgb=False, image_weight=0.5):  # pytorch-grad-cam 1.5.5, without cv2
    heatmap = opencv_jet()[np.uint8(255 * mask)][..., ::-1]  # cv2.applyColorMap(..., COLORMAP_JET): BGR
    if use_rgb:
        heatmap = heatmap[..., ::-1]  # cv2.cvtColor(heatmap, cv2.COLOR_BGR2RGB)
    heatmap = np.float32(heatmap) / 255
    cam = (1 - image_weight) * heatmap + image_weight * img
    cam = cam / np.max(cam)
    return np.uint8(255 * cam)


grayscale_cam = scale_cam_image(torch_cam, (SIZE, SIZE))  # (6, 64, 64) float32 in [0, 1]
theirs = np.stack([
    show_cam_on_image(np.float32(image) / 255, mask, use_rgb=True, image_weight=0.55)
    for image, mask in zip(scenes[1400:1406], grayscale_cam, strict=True)
])
ours = overlay(input_tensor, grayscale_cam, "MobileNetV2", alpha=0.45, compat="pytorch-grad-cam")
assert np.array_equal(ours, theirs)
default = overlay(input_tensor, grayscale_cam, "MobileNetV2", alpha=0.45, normalize=False)
difference = np.abs(default.astype(int) - theirs.astype(int))
print(f"compat: bit for bit. The default differs on {(difference > 0).mean():.0%} of the values, "
      f"by {difference.mean():.1f} levels on average (at most {difference.max()})")"""
    ),
    new_markdown_cell(
        "## `audit`: a pipeline that normalizes twice\n\n"
        "A common slip: a `tf.data` pipeline maps `preprocess_input`, and a second map (or the model's "
        "own layer) applies it again. Training still runs, on nearly constant inputs. `audit` looks at "
        "what the pipeline actually yields: the detected mode with its confidence, NaN/Inf counts, the "
        "range, per-channel means and spreads, and, against what the model expects, the checks every "
        "restore makes."
    ),
    new_code_cell(
        """from keras_deprocess import audit


def preprocess(images, targets):
    return keras.applications.mobilenet_v2.preprocess_input(tf.cast(images, tf.float32)), targets


pipeline = tf.data.Dataset.from_tensor_slices((scenes, labels)).batch(32)
correct = pipeline.map(preprocess)
twice = pipeline.map(preprocess).map(preprocess)  # a second preprocess_input

print(audit(correct, "MobileNetV2", batches=2))
print()
report = audit(twice, "MobileNetV2", batches=2)
print(report)
assert audit(correct, "MobileNetV2", batches=2).ok
assert [f.kind for f in report.findings] == ["normalized-twice", "normalized-twice"]

fig, axes = plt.subplots(2, 1, figsize=(8, 4.2))
for ax, (name, data) in zip(axes, [("correct", correct), ("normalized twice", twice)], strict=True):
    ax.imshow(audit(data, "MobileNetV2").sheet(limit=6))
    ax.set_title(f"audit(...).sheet(): {name}", fontsize=9)
    ax.axis("off")
fig.tight_layout()
fig.savefig(FIGURES / "debugging_audit.png", dpi=80)
plt.show()"""
    ),
    new_markdown_cell(
        "## `LogInputs`: the exact training images in TensorBoard\n\n"
        "The callback watches the batches go through `model.train_function` (no change to the training "
        "step, on any Keras backend), restores the first images of one batch in `every_n_batches` "
        "exactly, and writes them with `tf.summary.image`; the first batch's audit goes in as text. "
        "Read back with TensorBoard's own event reader, the images are the scenes, bit for bit."
    ),
    new_code_cell(
        """import io

from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.util import tensor_util

from keras_deprocess import LogInputs

log_dir = Path(tempfile.mkdtemp())
log = LogInputs(log_dir, "MobileNetV2", every_n_batches=10, max_images=4)
cnn.fit(correct.take(25), epochs=1, shuffle=False, verbose=0, callbacks=[log])
print("logged at steps", log.logged_steps)

logged = {}
for path in log_dir.glob("events.out.tfevents.*"):
    for event in EventFileLoader(str(path)).Load():
        for value in event.summary.value:
            array = tensor_util.make_ndarray(value.tensor)
            if value.tag == "inputs":
                logged[event.step] = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in array[2:]])
            else:
                print(array.item().decode())
for step, pictures in logged.items():
    assert np.array_equal(pictures, scenes[32 * step : 32 * step + 4]), step
print("every logged image equals the scene it was made from")"""
    ),
]

NOTEBOOKS = {
    "style_transfer.ipynb": STYLE_TRANSFER,
    "feature_extraction_debugging.ipynb": FEATURE_EXTRACTION,
    "pytorch_normalize.ipynb": PYTORCH_NORMALIZE,
    "colorization.ipynb": COLORIZATION,
    "geometry.ipynb": GEOMETRY,
    "debugging.ipynb": DEBUGGING,
}


def write(name: str, cells: list[nbformat.NotebookNode]) -> None:
    notebook = new_notebook(cells=cells)
    for index, cell in enumerate(notebook.cells):
        cell.id = f"{Path(name).stem[:20]}-{index}"  # stable ids: the files regenerate identically
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, HERE / name)


if __name__ == "__main__":
    for notebook_name, notebook_cells in NOTEBOOKS.items():
        write(notebook_name, notebook_cells)
