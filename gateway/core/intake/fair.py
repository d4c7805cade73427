"""Moved to :mod:`gateway.sdk.intake.fair` (the SDK); kept for the old import path.

The old name is the same module object, so patching it in a test patches the SDK's.
"""

import sys

from gateway.sdk.intake import fair as _moved

sys.modules[__name__] = _moved
