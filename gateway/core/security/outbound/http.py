"""Moved to :mod:`gateway.sdk.outbound.http` (the SDK); kept for the old import path.

The old name is the same module object, so patching it in a test patches the SDK's.
"""

import sys

from gateway.sdk.outbound import http as _moved

sys.modules[__name__] = _moved
