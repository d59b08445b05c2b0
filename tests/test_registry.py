"""The registry covers every keras.applications constructor and module, and finds them by any handle."""

from __future__ import annotations

import functools
import inspect
import re

import numpy as np
import pytest
from conftest import every_value_batch

from keras_deprocess import DeprocessError, PreprocessSpec, get_spec, list_models, preprocess_input
from keras_deprocess.registry import CONSTRUCTORS, MODES, MODULES
from keras_deprocess.registry.tables import CAFFE, IDENTITY, TF, TORCH


def _installed_applications(keras):
    constructors = {
        name: obj
        for name, obj in vars(keras.applications).items()
        if not name.startswith("_") and inspect.isfunction(obj)
    }
    modules = {
        name: obj
        for name, obj in vars(keras.applications).items()
        if not name.startswith("_") and inspect.ismodule(obj)
    }
    return constructors, modules


def test_every_installed_constructor_is_registered(keras_module):
    constructors, _ = _installed_applications(keras_module)
    assert len(constructors) >= 40
    missing = sorted(set(constructors) - set(CONSTRUCTORS))
    assert not missing, f"keras.applications constructors missing from the registry: {missing}"


def test_every_installed_module_is_registered(keras_module):
    _, modules = _installed_applications(keras_module)
    missing = sorted(set(modules) - set(MODULES))
    assert not missing, f"keras.applications modules missing from the registry: {missing}"


def test_registry_names_no_model_keras_lacks(keras_module):
    constructors, modules = _installed_applications(keras_module)
    assert set(CONSTRUCTORS) <= set(constructors)
    assert set(MODULES) <= set(modules)


def test_constructor_modules_match_keras(keras_module):
    for name, (module, _) in CONSTRUCTORS.items():
        defining_module = getattr(keras_module.applications, name).__module__.rsplit(".", 1)[-1]
        assert defining_module == module, name


def test_default_model_names_match_keras_signatures(keras_module):
    for name, (_, pattern) in CONSTRUCTORS.items():
        default = inspect.signature(getattr(keras_module.applications, name)).parameters["name"].default
        if default is None:  # MobileNet and MobileNetV2 compute their names; built below.
            continue
        assert re.fullmatch(pattern, default.lower()), (name, default)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_modes_match_keras_behaviour(keras_module, module):
    """Each module's real preprocess_input equals our forward pass of its registered mode."""
    images = every_value_batch().astype("float32")
    theirs = getattr(keras_module.applications, module).preprocess_input(images.copy())
    np.testing.assert_allclose(preprocess_input(images, module), np.asarray(theirs), rtol=1e-6, atol=1e-5)


def test_list_models_table():
    rows = list_models()
    assert len(list_models("constructor")) == len(CONSTRUCTORS)
    assert len(list_models("module")) == len(MODULES)
    assert [e.name for e in list_models("mode")] == ["caffe", "tf", "torch", "identity"]
    presets = ["imagenet", "clip", "half", "unit", "inception", "lab", "colorization", "colorization-caffe"]
    assert [e.name for e in list_models("preset")] == presets
    assert len(rows) == len(CONSTRUCTORS) + len(MODULES) + len(MODES) + len(presets)
    vgg = next(e for e in rows if e.name == "VGG16")
    assert (vgg.kind, vgg.module, vgg.mode, vgg.spec) == ("constructor", "vgg16", "caffe", CAFFE)
    with pytest.raises(DeprocessError, match=r"Expected `kind` to be one of"):
        list_models("family")


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("VGG16", CAFFE),
        ("vgg16", CAFFE),
        ("Vgg19", CAFFE),
        ("RESNET50", CAFFE),
        ("resnet", CAFFE),
        ("ResNet50V2", TF),
        ("resnet_v2", TF),
        ("xception", TF),
        ("NASNetMobile", TF),
        ("densenet201", TORCH),
        ("EfficientNetB3", IDENTITY),
        ("efficientnetv2-b0", IDENTITY),
        ("convnext_tiny", IDENTITY),
        ("MobileNetV3Small", IDENTITY),
        ("mobilenet_1.00_224", TF),
        ("mobilenetv2_0.35_96", TF),
        ("caffe", CAFFE),
        ("TORCH", TORCH),
        ("  tf ", TF),
        ("imagenet_utils", CAFFE),
    ],
)
def test_lookup_by_name_is_case_insensitive(name, spec):
    assert get_spec(name) == spec


def test_names_shared_by_a_constructor_and_a_module_agree():
    by_name: dict[str, set[PreprocessSpec]] = {}
    for entry in list_models():
        by_name.setdefault(entry.name.lower(), set()).add(entry.spec)
    conflicts = {name: specs for name, specs in by_name.items() if len(specs) > 1}
    assert not conflicts


def test_lookup_by_keras_objects(keras_module):
    apps = keras_module.applications
    assert get_spec(apps.vgg16) == CAFFE
    assert get_spec(apps.resnet_v2) == TF
    assert get_spec(apps.vgg16.preprocess_input) == CAFFE
    assert get_spec(apps.densenet.preprocess_input) == TORCH
    assert get_spec(apps.convnext.preprocess_input) == IDENTITY
    assert get_spec(apps.resnet50.preprocess_input) == CAFFE
    assert get_spec(apps.VGG16) == CAFFE
    assert get_spec(apps.InceptionV3) == TF
    assert get_spec(functools.partial(apps.imagenet_utils.preprocess_input, mode="torch")) == TORCH
    assert get_spec(functools.partial(apps.xception.preprocess_input, data_format="channels_last")) == TF
    assert get_spec(TORCH) is TORCH


def test_lookup_by_built_keras_models(keras_module):
    apps = keras_module.applications
    models = {
        CAFFE: apps.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)),
        TF: apps.MobileNet(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.25),
        IDENTITY: apps.MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3)),
    }
    mobilenet_v2 = apps.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    assert get_spec(mobilenet_v2) == TF
    for spec, model in models.items():
        assert get_spec(model) == spec, model.name


def test_renamed_keras_model_gets_a_clear_error(keras_module):
    model = keras_module.applications.VGG16(
        weights=None, include_top=False, input_shape=(32, 32, 3), name="my_backbone"
    )
    with pytest.raises(DeprocessError, match=r"keras.Model named 'my_backbone'.*model='ResNet50'"):
        get_spec(model)


def test_unplaceable_object_gets_a_clear_error():
    with pytest.raises(DeprocessError, match=r"Received an object of type int"):
        get_spec(42)
    with pytest.raises(DeprocessError, match=r"Received an object of type function"):
        get_spec(lambda x: x)


def test_unknown_name_without_close_match():
    with pytest.raises(DeprocessError, match=r"Unknown model or mode 'zzzz'\. Expected a keras"):
        get_spec("zzzz")


def test_specs_are_immutable_and_compare_by_math():
    with pytest.raises(AttributeError):
        CAFFE.scale = 2.0  # type: ignore[misc]
    assert PreprocessSpec("inception", scale=1 / 127.5, mean=1.0) == TF
    assert PreprocessSpec.from_config(TORCH.to_config()) == TORCH
    assert IDENTITY.is_identity
    assert PreprocessSpec("zeros", mean=(0, 0, 0), std=(1, 1, 1)).is_identity
    assert not CAFFE.is_identity
    assert CAFFE.channels == 3
    assert TF.channels is None
    assert "BGR" in repr(CAFFE)
