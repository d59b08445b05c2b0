"""Judging values: what a sample of the data says about the spec the caller named.

- `sample`: an evenly strided sample of pixels, taken where the array lives;
- `detection`: how well each registered mode explains a host sample (`ModeGuess`);
- `lab`: whether L and ab are on the scales a Lab spec says;
- `clipping`: which pixels a restore clips, for counts and reports.

Checks take host samples and specs; they never restore whole arrays.
"""
