"""Files out: what the commands write, with nothing of any one command in it.

The layer below the commands and above `terminal`: writing images (`png`,
`images`) on every core (`export`), all or nothing (`atomic`), with their
manifest (`manifest`). Reading saved batches, and naming the outputs, is the
library's `keras_deprocess.datasets`, reached through `cli.library`.
Nothing here imports a command.
"""
