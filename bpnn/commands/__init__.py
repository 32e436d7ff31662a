"""The subcommands of ``bpnn``: demo, train, predict, evaluate, export, bench, info."""

from . import bench, demo, export, info, predict, train

#: The modules that add a subcommand, in the order ``bpnn --help`` lists them.
COMMANDS = (demo, train, predict, export, bench, info)
