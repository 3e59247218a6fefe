"""``python -m facesearch.cli``: the same as the ``facesearch`` command."""

from facesearch.cli.main import main

main()
