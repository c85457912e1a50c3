"""``python -m userpulse``: the CLI."""

from userpulse.cli import main

main()
