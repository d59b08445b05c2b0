"""`LogInputs`: a Keras callback that logs the exact images of the batches the model trains on.

No Keras hook hands a callback the training data, and the training step is
compiled before callbacks start, so replacing ``train_step`` is ignored on
TensorFlow and JAX. What every backend looks up afresh at each step is
``model.train_function``, the function that takes the data: `LogInputs`
wraps it in ``on_train_begin`` and puts it back in ``on_train_end``. The
wrapper only sees each batch go by (the compiled step is untouched, nothing
is retraced) and keeps one every `every_n_batches`; ``on_train_batch_end``
restores its first images and writes them with ``tf.summary.image``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from keras_deprocess.auditing import audit
from keras_deprocess.auditing.expected import expectation_of
from keras_deprocess.core.config import import_keras, resolve_data_format
from keras_deprocess.errors import DeprocessError
from keras_deprocess.logging.summary import EXTRA, audit_markdown, image_in, logged_images, positive
from keras_deprocess.restore import switch

keras = import_keras("The LogInputs callback")
Callback: Any = keras.callbacks.Callback

__all__ = ["LogInputs"]

# The attributes of our wrappers: the function each calls (read at call time), and its callback.
_TAPPED = "_keras_deprocess_wraps"
_OWNER = "_keras_deprocess_owner"


def _summary_module() -> Any:
    """tf.summary's home, TensorFlow; refused with the extra to install when it or TensorBoard is missing."""
    try:
        import tensorboard  # noqa: F401  (tf.summary.image and .text are TensorBoard's)
        import tensorflow as tf
    except ImportError as error:
        raise DeprocessError(
            "Expected TensorFlow and TensorBoard: LogInputs writes with tf.summary.image, on any Keras "
            f"backend. Received an environment without {error.name or 'them'}. Install TensorBoard, "
            f"{EXTRA}, and TensorFlow (the keras extra); or, in a PyTorch loop, use log_inputs with a "
            "torch.utils.tensorboard.SummaryWriter."
        ) from error
    return tf


class _Tee:
    """An iterator that hands each batch to `seen` on its way to the training step."""

    def __init__(self, iterator: Iterator[Any], seen: Callable[[Any], None]) -> None:
        self._iterator, self._seen = iterator, seen

    def __iter__(self) -> _Tee:
        return self

    def __next__(self) -> Any:
        batch = next(self._iterator)
        self._seen(batch)
        return batch


class LogInputs(Callback):  # type: ignore[misc]
    """Log the exact images of the batches the model trains on to TensorBoard.

    Every `every_n_batches` training batches (the first one included), the
    first `max_images` images of the batch the model was just trained on
    are restored exactly (`to_images`: uint8, never stretched) and written
    with ``tf.summary.image`` under `tag`, at the global step (batches since
    the first ``fit`` with this callback). The first time, the batch's
    `audit` is written as text under ``tag + "/audit"``, and a warning says
    when it found something. A wrong normalization therefore shows as the
    wrong picture, not as a plausible min-max stretch.

    It works on every Keras backend (TensorFlow, JAX, PyTorch), with no
    change to the training step: it watches the batches pass through
    ``model.train_function`` during ``fit``, and puts the function back
    after. The images are those of a single device (a multi-replica
    ``tf.distribute`` strategy is not supported).

    Needs TensorFlow and TensorBoard (``tf.summary``), on any backend:
    ``pip install 'keras-deprocess[keras,tensorboard]'``.

    Args:
        log_dir: The folder of the event files (TensorBoard's ``--logdir``).
        model: What produced the inputs: a name, a handle, or a
            `PreprocessSpec`, as for `to_images`. None: what the trained
            model says (its keras.applications name, or its own
            Rescaling/Normalization layers), else the mode detected from
            the values (an error at the first batch when that is not
            certain).
        every_n_batches: Log one batch in this many.
        max_images: Images logged per batch.
        tag: The summary's name.
        key: Where the images are in each batch, for dict inputs, as for `audit`.
        data_format: The layout of the inputs; None for
            `keras.config.image_data_format()`, whatever the tensors' framework.
        check: Check the values against the spec as they are restored
            (`SpecMismatchWarning`).

    Example:
        >>> import tempfile, keras, numpy as np
        >>> from keras_deprocess import LogInputs, preprocess_input
        >>> images = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 3), dtype=np.uint8)
        >>> x, y = preprocess_input(images, "tf", data_format="channels_last"), np.zeros((8, 1))
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> log = LogInputs(tempfile.mkdtemp(), "tf", every_n_batches=2, max_images=2)
        >>> _ = model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[log])
        >>> log.logged_steps
        [0]
    """

    def __init__(
        self,
        log_dir: Any,
        model: Any = None,
        every_n_batches: int = 100,
        max_images: int = 8,
        *,
        tag: str = "inputs",
        key: Any = None,
        data_format: str | None = None,
        check: bool = True,
    ) -> None:
        super().__init__()
        self._tf = _summary_module()
        self.log_dir = os.fspath(log_dir)
        self.preprocessing = model
        self.every_n_batches = positive("every_n_batches", every_n_batches)
        self.max_images = positive("max_images", max_images)
        if not isinstance(tag, str) or not tag:
            raise DeprocessError(f"Expected `tag` to be a non-empty string. Received: tag={tag!r}.")
        self.tag = tag
        self.key = key
        self.data_format = resolve_data_format(data_format) if data_format is not None else None
        self.check = switch("check", check)
        self.logged_steps: list[int] = []
        self._writer: Any = None
        self._seen = 0
        self._pending: list[tuple[int, Any]] = []
        self._audited = False
        self._fit: object | None = None  # the fit whose batches count
        self._expected: Any = None

    # -- watching the batches go by -------------------------------------------------------

    def on_train_begin(self, logs: Any = None) -> None:
        self._unwrap()  # ours, left by a fit that raised
        self._fit = object()
        trained = self._model
        trained.train_function = self._wrap(trained.train_function)

    def on_train_end(self, logs: Any = None) -> None:
        self._fit = None
        self._unwrap()
        self._pending.clear()
        if self._writer is not None:
            self._writer.flush()

    def _unwrap(self) -> None:
        """Take our wrappers out of ``train_function``'s chain; other callbacks' stay, in order.

        Each wrapper calls the function its attribute names at call time, so
        one is taken out by pointing the wrapper above it past it.
        """
        trained = self._model
        above, function = None, trained.train_function
        while hasattr(function, _TAPPED):
            below = getattr(function, _TAPPED)
            if getattr(function, _OWNER, None) is self:
                if above is None:
                    trained.train_function = below
                else:
                    setattr(above, _TAPPED, below)
            else:
                above = function
            function = below

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        fit = self._fit

        def seen(batch: Any) -> None:
            if fit is self._fit:  # a wrapper of an earlier fit only passes the batches on
                self._see(batch)

        def below() -> Callable[..., Any]:
            return getattr(wrapped, _TAPPED)  # type: ignore[no-any-return]

        backend = keras.backend.backend()
        wrapped: Callable[..., Any]
        if backend == "torch":

            def wrapped(data: Any) -> Any:  # a list of steps_per_execution batches
                for batch in data:
                    seen(batch)
                return below()(data)

        elif backend == "jax":

            def wrapped(state: Any, iterator: Any) -> Any:  # next() runs outside jit
                return below()(state, _Tee(iterator, seen))

        elif backend == "tensorflow":
            tf, trained = self._tf, self._model

            def wrapped(iterator: Any) -> Any:
                if not isinstance(iterator, (tf.data.Iterator, tf.distribute.DistributedIterator)):
                    return below()(_Tee(iterator, seen))
                batches = []
                for _ in range(int(trained.steps_per_execution)):
                    optional = iterator.get_next_as_optional()
                    if not optional.has_value():
                        break
                    batches.append(optional.get_value())
                if not batches:
                    raise StopIteration  # the end of an epoch of unknown length, as Keras raises it
                for batch in batches:
                    seen(batch)
                return below()(iter(batches))  # Keras's step loop over a Python iterator

        else:
            raise DeprocessError(
                f"Expected a Keras backend that trains (tensorflow, jax or torch). Received {backend!r}."
            )
        setattr(wrapped, _TAPPED, original)
        setattr(wrapped, _OWNER, self)
        return wrapped

    def _see(self, batch: Any) -> None:
        step = self._seen
        self._seen += 1
        if step % self.every_n_batches == 0:
            self._pending.append((step, batch))

    # -- writing ----------------------------------------------------------------------------

    def on_train_batch_end(self, batch: Any, logs: Any = None) -> None:
        pending, self._pending = self._pending, []
        for step, data in pending:
            self._log(step, data)

    def _log(self, step: int, batch: Any) -> None:
        tf = self._tf
        x = image_in(batch, self.key)
        data_format = self.data_format or resolve_data_format(None)
        spec_model = self._spec_model()
        try:
            images = logged_images(x, spec_model, self.max_images, data_format, self.check)
        except DeprocessError as error:
            raise DeprocessError(
                f"LogInputs could not restore the batch of step {step}: {error} Pass model=, the "
                "preprocessing that produced the inputs."
            ) from None
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            tf.summary.image(self.tag, images, step=step, max_outputs=self.max_images)
            if not self._audited:
                self._audited = True
                report = audit(
                    x,
                    self.preprocessing if self.preprocessing is not None else self._model,
                    data_format=data_format,
                )
                tf.summary.text(f"{self.tag}/audit", audit_markdown(report), step=step)
                if not report.ok:
                    kinds = ", ".join(sorted({f.kind for f in report.findings}))
                    warnings.warn(
                        f"LogInputs: the audit of the first batch found {kinds}; its table is logged as "
                        f"the text {self.tag + '/audit'!r}:\n{report}",
                        UserWarning,
                        stacklevel=2,
                    )
        self._writer.flush()
        self.logged_steps.append(step)

    def _spec_model(self) -> Any:
        """What restores the inputs: the given preprocessing, else what the trained model expects."""
        if self.preprocessing is not None:
            return self.preprocessing
        if self._expected is None or self._expected[0] is not self._model:
            self._expected = (self._model, expectation_of(self._model).spec)
        return self._expected[1]
