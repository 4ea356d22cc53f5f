"""``python -m kyphoimg``: the same as the ``kyphoimg`` command."""

from kyphoimg.cli import main

raise SystemExit(main())
