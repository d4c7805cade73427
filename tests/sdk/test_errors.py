"""Every NavetError subclass in the gateway is drawn in the tree of gateway/sdk/errors.py."""

from __future__ import annotations

import importlib
import pkgutil

import gateway
from gateway.sdk import errors


def _subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub} | _subclasses(sub)
    return out


def test_every_error_of_the_gateway_is_in_the_drawn_tree() -> None:
    for info in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if ".demo" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    ours = {c for c in _subclasses(errors.NavetError) if c.__module__.startswith("gateway.")}
    assert len(ours) > 20
    tree = errors.__doc__ or ""
    missing = sorted(c.__name__ for c in ours if c.__name__ not in tree)
    assert missing == [], f"add these to the tree in gateway/sdk/errors.py: {missing}"
