"""``python -m app`` runs the ``switchboard`` command."""

from app.cli import main

raise SystemExit(main())
