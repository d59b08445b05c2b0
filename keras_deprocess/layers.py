"""`Deprocess` and `Preprocess`: Keras layers over the two functions.

They hold no weights and no state beyond a spec; `call` is the function.
Both are registered serializable, so a model containing them saves to
`.keras` and loads with `keras.models.load_model(path, safe_mode=True)` and
no `custom_objects` once `keras_deprocess` is imported.
"""

from __future__ import annotations

from typing import Any

from keras_deprocess.core.config import import_keras, resolve_data_format
from keras_deprocess.core.dtypes import output_dtype_name
from keras_deprocess.errors import DeprocessError
from keras_deprocess.frameworks import backend_for
from keras_deprocess.registry import resolve_spec
from keras_deprocess.restore import preprocess_input, restore_original_image_from_array

keras = import_keras("The Deprocess and Preprocess layers")
Layer: Any = keras.layers.Layer

__all__ = ["Deprocess", "Preprocess"]


class _SpecLayer(Layer):  # type: ignore[misc]
    """A stateless layer defined by a `PreprocessSpec` and a data format."""

    def __init__(
        self, model: Any = None, *, mode: str | None = None, data_format: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if model is None and isinstance(mode, str) and mode.lower() == "auto":
            raise DeprocessError(
                f"Expected a model or mode, fixed when the {type(self).__name__} layer is made. "
                "Received mode='auto', which detects the mode from values, and a layer has none when "
                "it is made. Pass the model's name, e.g. model='VGG16', or the mode; "
                "detect_mode(batch) ranks the candidates for a batch at hand."
            )
        self.spec = resolve_spec(model, mode)
        self.data_format = resolve_data_format(data_format)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        backend = backend_for(inputs)
        if backend is not None and backend.name == "tensorflow" and keras.backend.backend() != "tensorflow":
            # A tf.Tensor under another backend, as in tf.data with JAX or
            # torch: Layer.__call__ would convert it to the backend's type.
            # The function handles tf.Tensors natively, and there is no
            # state to track, so call it directly.
            return self.call(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype=self.output_dtype_for(inputs))

    def output_dtype_for(self, inputs: Any) -> str:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update({"model": self.spec.to_config(), "data_format": self.data_format})
        return config


@keras.saving.register_keras_serializable(package="keras_deprocess")
class Deprocess(_SpecLayer):
    r"""Restores the RGB [0, 255] image from a model's preprocessed input.

    A layer over `restore_original_image_from_array`: for output channel
    ``k``, ``x_k = y_src[k] * std / scale + mean / scale``, then rounded,
    clipped and cast for ``output_dtype="uint8"``, or clipped (unless
    ``clip=False``) for a float ``output_dtype``. Float outputs are
    differentiable, with ``d x_k / d y_src[k] = std / scale``.

    The layer never autocasts its input (under a mixed-precision policy, a
    float32 input stays float32), and computes in float32 (float64 for
    float64 input).

    Shape:
        - Input: ``(N, H, W, 3)`` for 'channels_last' or ``(N, 3, H, W)``
          for 'channels_first' (any rank ≥ 3, as for the function).
        - Output: the same shape, of ``output_dtype``.

    Args:
        model: Whatever `get_spec` takes: a keras.applications name, module,
            function or built model, a preset ('imagenet', 'clip', 'half',
            'colorization', ...), a torchvision, timm, Hugging Face or
            detectron2 handle, or a `PreprocessSpec` (Lab specs included).
            Exactly one of `model` and `mode`.
        mode: 'caffe', 'tf', 'torch' or 'identity'.
        data_format: 'channels_last', 'channels_first', or None for
            `keras.config.image_data_format()` at construction time.
        clip: Clip to [0, 255]. Must be True for uint8.
        output_dtype: "uint8" for the exact image; a float dtype for the
            differentiable float inverse.
        **kwargs: Passed to `keras.layers.Layer` (name, ...).

    Example:
        >>> import keras, numpy as np
        >>> from keras_deprocess import Deprocess
        >>> layer = Deprocess("VGG16", data_format="channels_last")
        >>> x = np.zeros((1, 2, 2, 3), "float32")  # the caffe mean pixel
        >>> keras.ops.convert_to_numpy(layer(x))[0, 0, 0].tolist()
        [124, 117, 104]
    """

    def __init__(
        self,
        model: Any = None,
        *,
        mode: str | None = None,
        data_format: str | None = None,
        clip: bool = True,
        output_dtype: str = "uint8",
        **kwargs: Any,
    ) -> None:
        # The input is the model's preprocessed image at full precision;
        # rounding it to float16 first would cost exactness for nothing.
        kwargs.setdefault("autocast", False)
        super().__init__(model, mode=mode, data_format=data_format, **kwargs)
        self.clip = bool(clip)
        self.output_dtype = output_dtype_name(output_dtype, self.clip, "output_dtype")

    def call(self, inputs: Any) -> Any:
        return restore_original_image_from_array(
            inputs, self.spec, data_format=self.data_format, dtype=self.output_dtype, clip=self.clip
        )

    def output_dtype_for(self, inputs: Any) -> str:
        return self.output_dtype

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"clip": self.clip, "output_dtype": self.output_dtype})
        return config


@keras.saving.register_keras_serializable(package="keras_deprocess")
class Preprocess(_SpecLayer):
    r"""A model's `preprocess_input` as a layer, from the same spec as `Deprocess`.

    ``y_c = (x_order[c] * scale - mean_c) / std_c``. Integer (uint8) input is
    accepted; the output has the layer's compute dtype (float32, or float16
    / bfloat16 under a mixed-precision policy), computed in float32.

    Shape:
        - Input: as for `Deprocess`.
        - Output: the same shape.

    Args:
        model: As for `Deprocess`.
        mode: As for `Deprocess`.
        data_format: As for `Deprocess`.
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import keras, numpy as np
        >>> from keras_deprocess import Preprocess
        >>> layer = Preprocess(mode="tf")
        >>> keras.ops.convert_to_numpy(layer(np.full((1, 1, 1, 3), 255, "uint8"))).ravel().tolist()
        [1.0, 1.0, 1.0]
    """

    def call(self, inputs: Any) -> Any:
        return preprocess_input(inputs, self.spec, data_format=self.data_format, dtype=self.compute_dtype)

    def output_dtype_for(self, inputs: Any) -> str:
        return str(self.compute_dtype)
