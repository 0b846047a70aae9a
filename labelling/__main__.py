"""`python -m labelling ...`: the command line (labelling.cli)."""

from labelling.cli import main

raise SystemExit(main())
