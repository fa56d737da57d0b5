"""``python -m mle`` is the ``mle`` command."""

from mle.cli import main

main()
