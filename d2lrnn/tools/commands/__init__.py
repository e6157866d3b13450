"""The subcommands of ``d2lrnn``, one module each: its ``NAME``, its ``HELP`` line, its
``arguments(parser)`` and its ``run(args)`` (the exit code). A new subcommand is a module
here and its name in :data:`COMMANDS`."""
from . import bench, compare, demo, doctor, generate, parity, report, train, translate

COMMANDS = (demo, parity, doctor, train, report, generate, translate, bench, compare)
