"""dtype names, and the dtype contract of each direction.

Names are NumPy's ("float32", "bfloat16", "uint8"), whatever framework the
array comes from. A restore gives uint8 (the exact image) or a float dtype
(the float inverse); the forward pass gives a float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_deprocess.errors import DeprocessError, shown

__all__ = [
    "FLOAT_DTYPES",
    "OUTPUT_DTYPES",
    "compute_dtype",
    "dtype_name",
    "forward_dtype",
    "numpy_dtype",
    "output_dtype_name",
    "require_float",
]

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
OUTPUT_DTYPES = ("uint8", *FLOAT_DTYPES)


def numpy_dtype(name: str) -> np.dtype[Any]:
    """NumPy's dtype for a name, bfloat16 included (from ml_dtypes, which Keras and JAX install)."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)  # type: ignore[no-any-return]
    return np.dtype(name)


def compute_dtype(dtype: str) -> str:
    """float16 and bfloat16 are computed in float32 and rounded once at the end."""
    return "float64" if dtype == "float64" else "float32"


def dtype_name(dtype: Any) -> str:
    """NumPy's name for a dtype given as a string, NumPy dtype, or framework dtype; '' if none."""
    if dtype is None or isinstance(dtype, bool):
        return ""
    if isinstance(dtype, str):
        return dtype.removeprefix("torch.").lower()
    name = getattr(dtype, "name", None)
    if isinstance(name, str):
        return name.lower()
    try:
        return str(np.dtype(dtype).name)
    except (TypeError, ValueError):
        return str(dtype).removeprefix("torch.").lower()


def output_dtype_name(dtype: Any, clip: Any, keyword: str = "dtype") -> str:
    """The canonical name of a restore output dtype; refuses uint8 without clipping.

    `keyword` is the argument's name in the caller's interface, for messages.
    """
    if not isinstance(clip, (bool, np.bool_)):
        raise DeprocessError(
            f"Expected `clip` to be True or False. Received: clip={shown(clip)} "
            f"({type(clip).__name__}). Pass clip=False, not a string or number."
        )
    name = dtype_name(dtype)
    if name not in OUTPUT_DTYPES:
        raise DeprocessError(
            f"Expected `{keyword}` to be one of {OUTPUT_DTYPES}. Received: {keyword}={shown(dtype)}. "
            f"Use {keyword}='uint8' for the exact image and a float dtype, e.g. {keyword}='float32', "
            "for the float inverse."
        )
    if name == "uint8" and not clip:
        raise DeprocessError(
            f"Expected clip=True with {keyword}='uint8': casting without clipping wraps -1 to 255. "
            f"Received clip=False. Pass a float dtype, e.g. {keyword}='float32', to keep values "
            "outside [0, 255]."
        )
    return name


def require_float(dtype: str, shape: Any) -> None:
    """Preprocessed data is floating point: raw pixels (integers) have nothing to restore."""
    if dtype in FLOAT_DTYPES:
        return
    if dtype.startswith(("int", "uint", "bool")):
        raise DeprocessError(
            f"Expected floating-point input: the output of preprocess_input. Received dtype "
            f"{dtype} with shape {tuple(shape)}. An integer array holds raw pixels, not preprocessed "
            "data, so there is nothing to restore. If it really is preprocessed data, cast it "
            "to float32 first."
        )
    raise DeprocessError(
        f"Expected a real floating-point dtype {FLOAT_DTYPES}. Received dtype {dtype}. "
        "Cast the array to float32 first."
    )


def forward_dtype(input_dtype: str, requested: Any, default: str) -> str:
    """The forward pass's output dtype: `requested`, else a float input's own, else `default`."""
    if input_dtype not in FLOAT_DTYPES and not input_dtype.startswith(("int", "uint")):
        raise DeprocessError(
            f"Expected RGB images as integers or floats in [0, 255]. Received dtype {input_dtype}. "
            "Convert the images to uint8 or float32 first."
        )
    if requested is None:
        return input_dtype if input_dtype in FLOAT_DTYPES else default
    name = dtype_name(requested)
    if name not in FLOAT_DTYPES:
        raise DeprocessError(
            f"Expected `dtype` to be a float dtype {FLOAT_DTYPES} or None for preprocess_input. "
            f"Received: dtype={shown(requested)}. Pass dtype='float32', or None to keep a float "
            "input's dtype."
        )
    return name
