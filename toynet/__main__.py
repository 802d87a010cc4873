"""`python -m toynet` is the `toynet` command."""

import sys

from toynet.cli import main

sys.exit(main())
