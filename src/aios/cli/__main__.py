"""`python -m aios.cli` runs the `aios` command."""

from aios.cli.main import main

main()
