"""The subcommands of ``bpnn``: demo, train, predict, evaluate, bench, info."""

from . import bench, demo, info, predict, train

#: The modules that add a subcommand, in the order ``bpnn --help`` lists them.
COMMANDS = (demo, train, predict, bench, info)
