"""The bottom layer: what every other part of the package agrees on, with no framework in sight.

- `config`: Keras's global settings, read without importing Keras;
- `dtypes`: dtype names and the dtype contract of each direction;
- `finite`: NaN and ±Inf on host arrays;
- `spec`: a preprocessing as data (`PreprocessSpec`, `Affine`);
- `plan`: one call's work as data (`Plan`), what the engines run;
- `layout`: the channel axis, checked and explained once;
- `ranges`: which preprocessed values restore outside [0, 255];
- `blocks`: cache-sized blocks of an (outer, channels, inner) array.

Nothing here imports a framework, and nothing imports a module above it.
"""
