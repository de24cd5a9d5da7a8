"""`python -m vexplore`: the same as the `vexplore` command."""

from vexplore.cli import run

if __name__ == "__main__":
    run()
