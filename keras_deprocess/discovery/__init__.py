"""Finding the spec when nobody wrote it down.

- `detect`: which registered mode or preset most likely produced an array.
- `auto`: when to take the detected mode, and what to say when not.
- `infer`: the spec of a black-box preprocessing function, by probing it.
- `model_spec`: the spec of the preprocessing layers at the start of a Keras model.
"""
