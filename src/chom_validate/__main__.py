"""`python -m chom_validate`."""

from .cli import main

main()
