"""The registry's data: which preprocessing every `keras.applications` model uses, and the presets.

Four tables: the modes (a spec each), the model modules (a mode each), the
constructors (their module, and the name Keras gives the model they build),
and the mean/std presets of other ecosystems.
"""

from __future__ import annotations

from keras_deprocess.core.spec import PreprocessSpec, spec_from_lab, spec_from_mean_std

__all__ = ["CAFFE", "CONSTRUCTORS", "IDENTITY", "MODES", "MODULES", "PRESETS", "TF", "TORCH"]

# The four modes of keras.applications.imagenet_utils.preprocess_input.
CAFFE = PreprocessSpec(
    "caffe",
    scale=1.0,
    mean=(103.939, 116.779, 123.68),
    channel_order="BGR",
    description="RGB→BGR, minus the ImageNet mean pixel (BGR order), no scaling",
)
TF = PreprocessSpec(
    "tf",
    scale=1 / 127.5,
    mean=(1.0,),
    description="x / 127.5 - 1: values in [-1, 1]",
)
TORCH = PreprocessSpec(
    "torch",
    scale=1 / 255.0,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    description="x / 255, minus the ImageNet mean, divided by the ImageNet std",
)
IDENTITY = PreprocessSpec(
    "identity",
    description="preprocess_input does nothing: the model rescales and normalizes inside the network",
)

MODES: dict[str, PreprocessSpec] = {
    "caffe": CAFFE,
    "tf": TF,
    "torch": TORCH,
    "identity": IDENTITY,
}

# What each module's `preprocess_input` does. 'identity' marks the modules
# whose function returns its input: those networks rescale and normalize
# inside themselves.
MODULES: dict[str, str] = {
    "convnext": "identity",
    "densenet": "torch",
    "efficientnet": "identity",
    "efficientnet_v2": "identity",
    # imagenet_utils.preprocess_input takes a `mode`; this is its default.
    "imagenet_utils": "caffe",
    "inception_resnet_v2": "tf",
    "inception_v3": "tf",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "mobilenet_v3": "identity",
    "nasnet": "tf",
    "resnet": "caffe",
    "resnet50": "caffe",
    "resnet_v2": "tf",
    "vgg16": "caffe",
    "vgg19": "caffe",
    "xception": "tf",
}

# Constructor → (the module that defines it, the regex of the name Keras
# gives the model it builds when no `name` is passed).
CONSTRUCTORS: dict[str, tuple[str, str]] = {
    "ConvNeXtBase": ("convnext", "convnext_base"),
    "ConvNeXtLarge": ("convnext", "convnext_large"),
    "ConvNeXtSmall": ("convnext", "convnext_small"),
    "ConvNeXtTiny": ("convnext", "convnext_tiny"),
    "ConvNeXtXLarge": ("convnext", "convnext_xlarge"),
    "DenseNet121": ("densenet", "densenet121"),
    "DenseNet169": ("densenet", "densenet169"),
    "DenseNet201": ("densenet", "densenet201"),
    **{f"EfficientNetB{i}": ("efficientnet", f"efficientnetb{i}") for i in range(8)},
    **{f"EfficientNetV2B{i}": ("efficientnet_v2", f"efficientnetv2-b{i}") for i in range(4)},
    **{f"EfficientNetV2{s}": ("efficientnet_v2", f"efficientnetv2-{s.lower()}") for s in "SML"},
    "InceptionResNetV2": ("inception_resnet_v2", "inception_resnet_v2"),
    "InceptionV3": ("inception_v3", "inception_v3"),
    "MobileNet": ("mobilenet", r"mobilenet_\d+\.\d+_\d+"),
    "MobileNetV2": ("mobilenet_v2", r"mobilenetv2_\d+\.\d+_\d+"),
    "MobileNetV3Large": ("mobilenet_v3", "mobilenetv3large"),
    "MobileNetV3Small": ("mobilenet_v3", "mobilenetv3small"),
    "NASNetLarge": ("nasnet", "nasnet_large"),
    "NASNetMobile": ("nasnet", "nasnet_mobile"),
    "ResNet101": ("resnet", "resnet101"),
    "ResNet152": ("resnet", "resnet152"),
    "ResNet50": ("resnet", "resnet50"),
    "ResNet101V2": ("resnet_v2", "resnet101v2"),
    "ResNet152V2": ("resnet_v2", "resnet152v2"),
    "ResNet50V2": ("resnet_v2", "resnet50v2"),
    "VGG16": ("vgg16", "vgg16"),
    "VGG19": ("vgg19", "vgg19"),
    "Xception": ("xception", "xception"),
}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# OpenAI CLIP's image normalization constants.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

PRESETS: dict[str, PreprocessSpec] = {
    "imagenet": spec_from_mean_std(
        IMAGENET_MEAN,
        IMAGENET_STD,
        name="imagenet",
        description="torchvision Normalize(ImageNet mean/std) after ToTensor; the same map as mode 'torch'",
    ),
    "clip": spec_from_mean_std(
        CLIP_MEAN, CLIP_STD, name="clip", description="OpenAI CLIP's image mean/std after x / 255"
    ),
    "half": spec_from_mean_std(
        0.5,
        0.5,
        name="half",
        description="mean = std = 0.5 after x / 255: [-1, 1], as VAEs and diffusion models take",
    ),
    "unit": PreprocessSpec(
        "unit",
        scale=1 / 255,
        description="x / 255: images in [0, 1], as torchvision's ToTensor and Keras's Rescaling(1/255) give",
    ),
    "inception": PreprocessSpec(
        "inception",
        scale=1 / 127.5,
        mean=(1.0,),
        description="x / 127.5 - 1, Inception-style; the same map as mode 'tf'",
    ),
    # CIE Lab, as skimage.color.rgb2lab computes it (sRGB, D65, 2° observer).
    "lab": spec_from_lab(name="lab", description="CIE Lab: L in [0, 100], a and b unnormalized"),
    "colorization": spec_from_lab(
        50.0,
        100.0,
        110.0,
        name="colorization",
        description="Zhang et al.'s PyTorch colorizers: (L - 50) / 100, a / 110, b / 110",
    ),
    "colorization-caffe": spec_from_lab(
        50.0,
        name="colorization-caffe",
        description="Zhang et al.'s original Caffe deploy: L - 50, a and b raw",
    ),
}
