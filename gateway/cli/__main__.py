"""``python -m gateway.cli`` is ``navet``."""

import sys

from gateway.cli import main

sys.exit(main())
