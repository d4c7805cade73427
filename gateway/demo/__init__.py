"""The demo municipality and ``navet demo``: see :mod:`gateway.demo.run`."""

from .run import DemoOptions, format_summary, run_demo

__all__ = ["DemoOptions", "format_summary", "run_demo"]
