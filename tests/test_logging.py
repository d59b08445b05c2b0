"""TensorBoard: the logged images, read back with tensorboard's own reader, are the original uint8 images.

LogInputs runs in a short `fit` on the active Keras backend (the suite runs
under each); log_inputs writes with torch's SummaryWriter. The event files
are read with tensorboard's EventFileLoader, which needs no TensorFlow.
"""

from __future__ import annotations

import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import backend
from PIL import Image

from keras_deprocess import DeprocessError, preprocess_input

pytest.importorskip("tensorboard")

IMAGES = np.random.default_rng(0).integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)


def read_events(log_dir: Path) -> dict[str, dict[int, object]]:
    """tag → step → the decoded images (uint8, (k, H, W, C)) or the text, from every event file."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    found: dict[str, dict[int, object]] = {}
    plugins: dict[str, str] = {}
    for path in sorted(log_dir.rglob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:
                    plugins[value.tag] = value.metadata.plugin_data.plugin_name
                array = tensor_util.make_ndarray(value.tensor)
                if plugins.get(value.tag) == "images":
                    width, height = int(array[0]), int(array[1])
                    pictures = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in array[2:]])
                    assert pictures.shape[1:3] == (height, width)
                    found.setdefault(value.tag, {})[event.step] = pictures
                else:
                    text = array.reshape(-1)[0].decode()
                    found.setdefault(value.tag, {})[event.step] = text
    return found


def small_model(keras, *layers):
    model = keras.Sequential([keras.Input((8, 8, 3)), *layers, keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


# -- LogInputs, in a short fit on this backend ---------------------------------------------------


def test_loginputs_logs_the_exact_images_the_model_trained_on(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")  # tf.summary writes, on any backend
    from keras_deprocess import LogInputs

    model = small_model(keras)
    x, y = preprocess_input(IMAGES, "tf", data_format="channels_last"), np.zeros((12, 1), "float32")
    log = LogInputs(tmp_path, "MobileNetV2", every_n_batches=2, max_images=3)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[log])
    assert log.logged_steps == [0, 2, 4]  # 6 steps over two epochs
    assert not hasattr(model.train_function, "_keras_deprocess_wraps")  # put back after fit
    events = read_events(tmp_path)
    assert set(events) == {"inputs", "inputs/audit"}
    for step, pictures in events["inputs"].items():
        first = (step * 4) % 12  # batch `step` of an unshuffled 12-image epoch
        np.testing.assert_array_equal(pictures, IMAGES[first : first + 3])
    (audit_text,) = events["inputs/audit"].values()
    assert list(events["inputs/audit"]) == [0]  # the first time only
    assert "expected: MobileNetV2 ('tf')" in audit_text
    assert "nothing found" in audit_text


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # an epoch of unknown length ends so
def test_loginputs_with_tf_data_and_steps_per_execution(tmp_path):
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    from keras_deprocess import LogInputs

    if backend() == "torch":
        pytest.skip("steps_per_execution must be 1 with the PyTorch backend")
    x = preprocess_input(IMAGES, "imagenet", data_format="channels_last")
    dataset = tf.data.Dataset.from_tensor_slices(({"pixels": x}, np.zeros((12, 1), "float32"))).batch(3)
    pixels = keras.Input((8, 8, 3), name="pixels")
    model = keras.Model({"pixels": pixels}, keras.layers.Dense(1)(keras.layers.Flatten()(pixels)))
    model.compile("sgd", "mse", steps_per_execution=2)
    log = LogInputs(tmp_path / "run", "imagenet", every_n_batches=3, max_images=2, tag="train/x")
    model.fit(
        dataset.filter(lambda *_: True), epochs=1, shuffle=False, verbose=0, callbacks=[log]
    )  # unknown length
    assert log.logged_steps == [0, 3]
    events = read_events(tmp_path)
    np.testing.assert_array_equal(events["train/x"][0], IMAGES[0:2])
    np.testing.assert_array_equal(events["train/x"][3], IMAGES[9:11])


def test_loginputs_reads_the_trained_models_own_preprocessing(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from keras_deprocess import LogInputs

    model = small_model(keras, keras.layers.Rescaling(1 / 255))  # fed raw pixels
    log = LogInputs(tmp_path, every_n_batches=100, max_images=4)
    model.fit(
        IMAGES.astype("float32"),
        np.zeros((12, 1)),
        batch_size=6,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[log],
    )
    events = read_events(tmp_path)
    np.testing.assert_array_equal(events["inputs"][0], IMAGES[:4])
    assert "raw pixels in [0, 255]" in events["inputs/audit"][0]


def test_loginputs_says_when_the_first_batch_is_normalized_twice(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from keras_deprocess import LogInputs, SpecMismatchWarning

    twice = preprocess_input(
        preprocess_input(IMAGES, "tf", data_format="channels_last"), "tf", data_format="channels_last"
    )
    log = LogInputs(tmp_path, "tf", every_n_batches=100, max_images=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        small_model(keras).fit(twice, np.zeros((12, 1)), batch_size=12, verbose=0, callbacks=[log])
    messages = [str(w.message) for w in caught]
    assert any(w.category is SpecMismatchWarning for w in caught)  # the restore's own check
    assert any(
        m.startswith("LogInputs: the audit of the first batch found normalized-twice") for m in messages
    )
    assert "normalized-twice" in read_events(tmp_path)["inputs/audit"][0]


def test_two_loggers_and_a_fit_that_raised(tmp_path):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    from keras_deprocess import LogInputs

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("stopped")

    model = small_model(keras)
    x, y = preprocess_input(IMAGES, "tf", data_format="channels_last"), np.zeros((12, 1), "float32")
    first = LogInputs(tmp_path / "a", "tf", every_n_batches=1, max_images=1)
    second = LogInputs(tmp_path / "b", "tf", every_n_batches=2, max_images=1, tag="every-other")
    with pytest.raises(RuntimeError, match="stopped"):
        model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[first, second, Stop()])
    model.fit(x, y, batch_size=4, shuffle=False, verbose=0, callbacks=[first, second])
    assert first.logged_steps == [0, 1, 2, 3]  # one batch before the error, three after
    assert second.logged_steps == [0, 2]
    assert not hasattr(model.train_function, "_keras_deprocess_wraps")
    logged = read_events(tmp_path / "a")["inputs"]
    for step, first_image in zip([1, 2, 3], [0, 4, 8], strict=True):
        np.testing.assert_array_equal(logged[step], IMAGES[first_image : first_image + 1])


def test_loginputs_names_the_extra_when_tensorboard_is_missing(tmp_path, monkeypatch):
    pytest.importorskip("keras")
    from keras_deprocess import LogInputs

    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(DeprocessError, match=r"keras-deprocess\[tensorboard\]"):
        LogInputs(tmp_path)
    monkeypatch.undo()
    with pytest.raises(DeprocessError, match="`every_n_batches` to be an integer"):
        LogInputs(tmp_path, every_n_batches=0)


# -- log_inputs, with torch's SummaryWriter -------------------------------------------------------


def test_log_inputs_writes_the_exact_images_and_the_audit_once(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    from keras_deprocess import log_inputs

    chw = torch.from_numpy(IMAGES).permute(0, 3, 1, 2)
    normalized = (chw / 255 - torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(3, 1, 1)
    with SummaryWriter(tmp_path) as writer:
        for step in range(2):
            batch = (normalized[6 * step : 6 * step + 6], torch.zeros(6))
            logged = log_inputs(writer, "inputs", batch, "imagenet", step, max_images=5)
            np.testing.assert_array_equal(logged, IMAGES[6 * step : 6 * step + 5])
    events = read_events(tmp_path)
    for step in range(2):
        (grid,) = events["inputs"][step]  # add_images writes one picture: the images side by side
        cells = [grid[:, 8 * i : 8 * i + 8] for i in range(5)]
        np.testing.assert_array_equal(np.stack(cells), IMAGES[6 * step : 6 * step + 5])
    assert list(events["inputs/audit/text_summary"]) == [0]
    assert "expected: 'imagenet'" in events["inputs/audit/text_summary"][0]


def test_log_inputs_refuses_what_is_not_a_writer():
    from keras_deprocess import log_inputs

    with pytest.raises(DeprocessError, match="SummaryWriter"):
        log_inputs(object(), "inputs", IMAGES, "identity", 0)
