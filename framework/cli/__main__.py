"""``python -m framework.cli``: the same as ``appctl``."""

from framework.cli import main

main()
