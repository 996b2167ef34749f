"""`python -m segc …` runs the command line, like the `segc` script."""
from .cli import entry

entry()
