"""The ``d2lrnn`` command's entry point: Ctrl-C while the command line loads (its imports
take a moment) ends quietly, as it does once the command runs."""
import sys


def main():
    try:
        from .cli import main as run

        return run()
    except KeyboardInterrupt:  # before the command's own handling begins, or after it ends
        print("\ninterrupted", file=sys.stderr)
        return 130
