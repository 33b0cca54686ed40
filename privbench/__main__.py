"""``python -m privbench`` = the ``privbench`` command."""

from privbench.cli import main

main()
