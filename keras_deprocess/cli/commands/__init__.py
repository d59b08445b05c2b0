"""One module per command, each with its parser (`add_parser`) and its action (`run(args) -> int`).

A command's flags, checks and output live together, so that changing one
command touches one module. What two commands share goes down, into
`common` (layout and data checks) or `canvas` (contact sheets), never
sideways from one command into another.
"""
