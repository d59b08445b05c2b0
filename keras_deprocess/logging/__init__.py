"""Logging what the model is fed: the exact images of the training batches, in TensorBoard.

- `summary`: what both loggers share: the images of a batch restored, and
  the audit of the first one as text;
- `callback`: `LogInputs`, a Keras callback (any backend; writes with
  ``tf.summary``), which imports Keras when loaded;
- `writer`: `log_inputs`, for a ``torch.utils.tensorboard.SummaryWriter``.

TensorBoard is an optional extra: ``pip install 'keras-deprocess[tensorboard]'``.
"""
