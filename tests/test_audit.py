"""audit: every kind of data; each mismatch of the never-silently-wrong checks found; nothing on correct data.

The data are the shipped photograph (and generated images), preprocessed by
the library's forward pass (itself tested against Keras's own), fed through
NumPy, tf.data, a Keras PyDataset, a torch DataLoader and Dataset, a
stand-in for a Hugging Face dataset, lists and generators.
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from keras_deprocess import AuditReport, DeprocessError, audit, preprocess_input
from keras_deprocess.cli import load_demo_image, main

CL, CF = "channels_last", "channels_first"
PHOTO = np.stack([load_demo_image()[::2, ::2], load_demo_image()[::-2, ::2]])  # (2, 64, 64, 3) uint8


def forward(images: np.ndarray, spec: str) -> np.ndarray:
    return preprocess_input(images, spec, data_format=CL).astype(np.float32)


def normalize(unit: np.ndarray) -> np.ndarray:
    """torchvision's Normalize with ImageNet's statistics, on [0, 1] images (after ToTensor)."""
    return (unit - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])


def kinds(report: AuditReport) -> list[str]:
    return [f.kind for f in report.findings]


# -- the mismatches of the never-silently-wrong checks, each found ---------------------------

MUST_FIND = {
    "a caffe name on torch data": (forward(PHOTO, "torch"), "ResNet50", "whole-elsewhere", "imagenet"),
    "torch normalized twice": (
        forward(forward(PHOTO, "torch"), "torch"),
        "DenseNet121",
        "normalized-twice",
        None,
    ),
    "tf normalized twice": (forward(forward(PHOTO, "tf"), "tf"), "MobileNetV2", "normalized-twice", None),
    "caffe normalized twice": (forward(forward(PHOTO, "caffe"), "caffe"), "VGG16", "normalized-twice", None),
    "[0, 1] data to a [0, 255] model": ((PHOTO / 255).astype(np.float32), "EfficientNetB0", "narrow", "unit"),
    "[0, 255] data to a [-1, 1] model": (
        PHOTO.astype(np.float32),
        "MobileNetV2",
        "whole-elsewhere",
        "identity",
    ),
    "CLIP data to ImageNet statistics": (forward(PHOTO, "clip"), "imagenet", "whole-elsewhere", "clip"),
    "ImageNet data to CLIP statistics": (forward(PHOTO, "imagenet"), "clip", "whole-elsewhere", "imagenet"),
    "raw uint8 pixels to a caffe model": (PHOTO, "VGG16", "whole-elsewhere", "identity"),
    # fastai #3398: Normalize twice after ToTensor.
    "Normalize twice on [0, 1] data": (
        normalize(normalize(PHOTO / 255)).astype(np.float32),
        "imagenet",
        "normalized-twice",
        None,
    ),
}


@pytest.mark.parametrize("case", list(MUST_FIND), ids=list(MUST_FIND))
def test_each_mismatch_is_found(case):
    data, model, kind, suggested = MUST_FIND[case]
    report = audit(data, model, data_format=CL)
    assert not report.ok
    assert kinds(report) == [kind]
    assert report.findings[0].suggested == suggested
    message = report.findings[0].message
    assert "check=False" not in message  # an audit has no switch to name
    assert "your own transforms" not in message  # nor a restore's advice
    if suggested:
        assert f"audit with model={suggested!r}" in message
    assert kind in str(report)


MUST_NOT_FIND = {
    "VGG16": (forward(PHOTO, "caffe"), "VGG16"),
    "DenseNet121": (forward(PHOTO, "torch"), "DenseNet121"),
    "MobileNetV2": (forward(PHOTO, "tf"), "MobileNetV2"),
    "imagenet": (forward(PHOTO, "imagenet"), "imagenet"),
    "clip": (forward(PHOTO, "clip"), "clip"),
    "EfficientNetB0 on uint8": (PHOTO, "EfficientNetB0"),
    "EfficientNetB0 on floats": (PHOTO.astype(np.float32), "EfficientNetB0"),
    "no model": (forward(PHOTO, "caffe"), None),
    "optimized torch data": (
        forward(PHOTO.astype(np.float64) + np.random.default_rng(0).uniform(-0.5, 0.5, PHOTO.shape), "torch"),
        "imagenet",
    ),
}


@pytest.mark.parametrize("case", list(MUST_NOT_FIND), ids=list(MUST_NOT_FIND))
def test_nothing_is_found_on_correct_pipelines(case):
    data, model = MUST_NOT_FIND[case]
    report = audit(data, model, data_format=CL)
    assert report.ok, str(report)
    assert str(report).endswith("nothing found")


def test_the_layout_the_data_contradict():
    chw = np.ascontiguousarray(forward(PHOTO, "imagenet").transpose(0, 3, 1, 2))
    report = audit(chw, "imagenet")  # a NumPy batch: channels_last assumed, and the shape says otherwise
    assert kinds(report) == ["layout"]
    assert "data_format='channels_first'" in report.findings[0].message
    assert report.batches[0].data_format == CF
    assert report.batches[0].detected == "torch"  # judged in the layout that fits


def test_the_layout_the_model_takes():
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((64, 64, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Conv2D(2, 3)]
    )
    hwc = PHOTO.astype(np.float32)
    assert audit(hwc, model, data_format=CL).ok
    report = audit(np.ascontiguousarray(hwc.transpose(0, 3, 1, 2)), model, data_format=CF)
    assert kinds(report) == ["layout"]
    assert "the model takes channels_last input, (None, 64, 64, 3)" in report.findings[0].message


def test_a_keras_model_says_what_it_takes():
    keras = pytest.importorskip("keras")

    def model(*layers):
        return keras.Sequential([keras.Input((64, 64, 3)), *layers, keras.layers.Conv2D(2, 3)])

    pixels, unit = PHOTO.astype(np.float32), (PHOTO / 255).astype(np.float32)
    rescaled = model(keras.layers.Rescaling(1 / 127.5, offset=-1))
    assert audit(pixels, rescaled, data_format=CL).ok
    assert "raw pixels in [0, 255]" in audit(pixels, rescaled, data_format=CL).note
    narrow = audit(unit, rescaled, data_format=CL)
    assert kinds(narrow) == ["narrow"]
    message = narrow.findings[0].message
    assert f"not {rescaled.name}'s own layers ('identity')" in message  # one possessive, not two
    assert "Preprocess the batches as" in message
    assert "'s own layers's" not in message
    adapted = keras.layers.Normalization()
    adapted.adapt(unit[:, ::4, ::4])  # statistics of [0, 1] data: it takes [0, 1] images
    normalized = model(adapted)
    assert audit(unit, normalized, data_format=CL).ok
    assert not audit(pixels, normalized, data_format=CL).ok
    plain = model()
    report = audit(forward(PHOTO, "caffe"), plain, data_format=CL)
    assert report.ok
    assert report.expected is None
    assert "nothing says" in report.note
    applications = keras.applications.MobileNetV3Small(weights=None, input_shape=(64, 64, 3))
    assert audit(pixels, applications, data_format=CL).ok  # it preprocesses inside: raw pixels
    assert kinds(audit(forward(PHOTO, "tf"), applications, data_format=CL)) != []


def test_nonfinite_values_and_inconsistent_batches():
    data = forward(PHOTO, "caffe")
    data[0, 0, 0, 0] = np.nan
    data[1, 0, 0, :2] = np.inf
    report = audit(data, "VGG16", data_format=CL)
    assert kinds(report) == ["nonfinite"]
    assert (report.batches[0].nan, report.batches[0].posinf) == (1, 2)
    mixed = [forward(PHOTO, "caffe"), forward(PHOTO, "torch")]
    report = audit(mixed, batches=2, data_format=CL)
    assert kinds(report) == ["inconsistent"]
    assert report.findings[0].batch == "1"


# -- every kind of data ------------------------------------------------------------------------

CORRECT = forward(PHOTO, "imagenet")  # (2, 64, 64, 3): torchvision's normalization, channels last
WRONG = "ResNet50"  # a Keras 'caffe' model: one finding per batch


def check(data, batches=1, key=None, data_format=CL, images=2):
    good = audit(data, "imagenet", batches=batches, key=key, data_format=data_format)
    assert good.ok, str(good)
    assert all(record.detected == "torch" and record.certain for record in good.batches)
    assert [record.images for record in good.batches] == [images] * batches
    bad = audit(data, WRONG, batches=batches, key=key, data_format=data_format)
    assert kinds(bad) == ["whole-elsewhere"] * batches
    return good


def test_one_batch_one_image_tuples_and_dicts():
    check(CORRECT)
    check(CORRECT[0], images=1)
    check((CORRECT, np.zeros(2)))
    check({"pixel_values": CORRECT, "labels": np.zeros(2)})
    check({"photo": CORRECT, "labels": np.zeros(2)})  # the one image-like entry
    check({"a": CORRECT, "b": CORRECT}, key="b")
    check(({"image": CORRECT}, np.zeros(2), np.ones(2)))
    with pytest.raises(DeprocessError, match=r"several image-like entries.*key="):
        audit({"a": CORRECT, "b": CORRECT})
    with pytest.raises(DeprocessError, match=r"an entry 'c' \(key=\)"):
        audit({"a": CORRECT}, key="c")


def test_iterables_of_batches():
    check([CORRECT, CORRECT], batches=2)
    generator = ((CORRECT, y) for y in range(5))
    report = audit(generator, "imagenet", batches=3, data_format=CL)
    assert report.ok
    assert len(report.batches) == 3
    assert len(list(generator)) == 2  # three taken, no more
    report = audit([CORRECT] * 5, "imagenet", batches=2, data_format=CL)
    assert [r.batch for r in report.batches] == ["0", "1"]
    with pytest.raises(DeprocessError, match="`batches` to be an integer"):
        audit(CORRECT, batches=0)
    with pytest.raises(DeprocessError, match="empty pipeline"):
        audit([])


def test_samples_are_stacked_into_batches():
    samples = [(image, 0) for image in np.concatenate([CORRECT] * 20)]  # 40 single images
    report = audit(samples, "imagenet", batches=2, data_format=CL)
    assert report.ok
    assert [r.images for r in report.batches] == [32, 8]


def test_a_map_style_dataset_is_read_by_index():
    class Samples:  # __len__ and __getitem__ only, a KeyError past the end
        def __len__(self):
            return 40

        def __getitem__(self, index):
            if index >= 40:
                raise KeyError(index)
            return {"image": CORRECT[index % 2]}

    report = audit(Samples(), "imagenet", batches=3, data_format=CL)
    assert report.ok
    assert [r.images for r in report.batches] == [32, 8]


def test_tf_data_batched_and_not():
    tf = pytest.importorskip("tensorflow")
    dataset = tf.data.Dataset.from_tensor_slices((CORRECT, np.zeros(2)))
    check(dataset.batch(2))
    check(dataset.batch(1).repeat(), batches=3, images=1)
    report = audit(dataset, "imagenet", data_format=CL)  # single images
    assert report.ok
    assert report.batches[0].images == 2
    assert report.batches[0].framework == "tensorflow"


def test_keras_pydataset():
    keras = pytest.importorskip("keras")

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            if index >= 2:
                raise AssertionError("read past the end")
            return CORRECT, np.zeros(2)

    check(Batches(), batches=2)
    assert len(audit(Batches(), batches=5, data_format=CL).batches) == 2


def test_torch_dataloader_and_dataset():
    torch = pytest.importorskip("torch")
    chw = torch.from_numpy(np.ascontiguousarray(CORRECT.transpose(0, 3, 1, 2)))

    class Samples(torch.utils.data.Dataset):
        def __len__(self):
            return 64

        def __getitem__(self, index):
            return chw[index % 2], index % 2

    good = check(torch.utils.data.DataLoader(Samples(), batch_size=2), batches=2, data_format=None)
    assert good.batches[0].framework == "torch"
    assert good.batches[0].data_format == CF
    report = audit(Samples(), "imagenet", batches=2)
    assert report.ok
    assert [r.images for r in report.batches] == [32, 32]
    # channels last in a torch tensor: PyTorch's layout was assumed, and the shape says otherwise
    nhwc = torch.from_numpy(CORRECT)
    assert kinds(audit(nhwc, "imagenet")) == ["layout"]


class HuggingFaceStandIn:
    """What audit reads of a datasets.Dataset: rows as dicts, PIL images in the 'image' column."""

    column_names = ("image", "label")
    features: ClassVar[dict[str, str]] = {"image": "Image()", "label": "ClassLabel"}

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return {"image": Image.fromarray(self.images[index]), "label": 0}

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def test_a_hugging_face_dataset():
    images = np.concatenate([PHOTO] * 20)
    report = audit(HuggingFaceStandIn(images), "EfficientNetB0", batches=2)
    assert report.ok, str(report)
    assert [r.images for r in report.batches] == [32, 8]
    assert report.batches[0].dtype == "uint8"
    assert report.batches[0].detected == "identity"
    sheet = report.sheet(limit=2)
    np.testing.assert_array_equal(sheet[16:80, 2:66], PHOTO[0])  # raw pixels, drawn as they are
    assert kinds(audit(HuggingFaceStandIn(images), "VGG16")) == ["whole-elsewhere"]


# -- the report -------------------------------------------------------------------------------


def test_the_report_as_data_table_and_sheet():
    twice = forward(forward(PHOTO, "tf"), "tf")
    report = audit([twice, forward(PHOTO, "tf")], "MobileNetV2", batches=2, data_format=CL)
    assert not report.ok
    finding = report.findings[0]
    assert isinstance(finding, dict)
    assert finding.kind == finding["kind"] == "normalized-twice"
    assert finding.batch == "0"
    assert "Normalize once" in finding.message
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["expected"]["name"] == "tf"
    assert [b["batch"] for b in data["batches"]] == ["0", "1"]
    assert set(data["batches"][0]) >= {
        "shape",
        "dtype",
        "detected",
        "confidence",
        "clipped",
        "nan",
        "mean",
        "std",
    }
    text = str(report)
    assert text == repr(report)
    lines = text.splitlines()
    assert lines[0] == "audit of 2 batches, expected: MobileNetV2 ('tf')"
    assert lines[1].split()[:4] == ["batch", "shape", "dtype", "detected"]
    assert lines[3].split()[:4] == ["1", "(2,", "64,", "64,"]
    assert lines[4] == "1 finding:"
    sheet = report.sheet(limit=2)
    assert sheet.dtype == np.uint8
    assert sheet.ndim == 3
    assert sheet.shape[2] == 3
    # two blocks of a 14-pixel caption, 2 pixels of padding and a row of 64-pixel cells
    assert sheet.shape == (2 * (14 + 2 + 64 + 2), 2 + 2 * (64 + 2), 3)
    second_block = sheet[sheet.shape[0] // 2 :]
    np.testing.assert_array_equal(second_block[16:80, 2:66], PHOTO[0])  # restored exactly under 'tf'


def test_bad_data_is_refused():
    with pytest.raises(DeprocessError, match="Expected images to audit"):
        audit(42)
    with pytest.raises(DeprocessError, match=r"images of rank 3 \(one image\) or 4"):
        audit(np.zeros((4, 4), np.float32))


# -- the command line ----------------------------------------------------------------------------


def test_cli_audit(tmp_path, capsys):
    np.save(tmp_path / "good.npy", forward(PHOTO, "caffe"))
    np.savez(tmp_path / "dump.npz", good=forward(PHOTO, "tf"), twice=forward(forward(PHOTO, "tf"), "tf"))
    assert main(["audit", str(tmp_path / "good.npy"), "--model", "VGG16"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit of 1 batch, expected: VGG16 ('caffe')")
    assert "nothing found" in out
    assert main(["audit", str(tmp_path / "dump.npz"), "--model", "MobileNetV2"]) == 1
    out = capsys.readouterr().out
    assert "- batch twice, normalized-twice:" in out
    assert (
        main(["audit", str(tmp_path / "dump.npz"), "--model", "MobileNetV2", "--key", "good", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["ok"]
    assert [b["batch"] for b in data["batches"]] == ["good"]
    assert data["model"] == "MobileNetV2"
    assert main(["audit", str(tmp_path / "good.npy"), "--limit", "1", "--chunk-mb", "0.01", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["batches"][0]["images"] == 1
    assert data["batches"][0]["detected"] == "caffe"
    np.save(tmp_path / "chw.npy", np.ascontiguousarray(forward(PHOTO, "caffe").transpose(0, 3, 1, 2)))
    assert main(["audit", str(tmp_path / "chw.npy"), "--model", "VGG16"]) == 1
    assert "pass --data-format channels_first" in capsys.readouterr().out
    assert main(["audit", str(tmp_path / "chw.npy"), "--model", "VGG16", "--data-format", CF]) == 0
    capsys.readouterr()
    assert main(["audit", str(tmp_path / "good.npy"), "--model", "VGG17"]) == 2
    assert "VGG16" in capsys.readouterr().err


@pytest.mark.parametrize("data", ["batch.npy", b"batch.npy"])
def test_a_path_is_not_images(data):
    with pytest.raises(DeprocessError, match="Received a path") as caught:
        audit(data, "VGG16")
    assert "keras-deprocess audit FILE" in str(caught.value)
