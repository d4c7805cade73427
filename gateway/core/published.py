"""Where the published contract's files are, in a source tree and in an installed wheel.

``contracts/`` at the repository's root is the published contract's home: the JSON
Schemas, the built-in plugins' signatures and the development key that verifies them,
the adapter catalogue and its conformance reports. The runtime reads some of it (which
built-in plugins are signed, what the catalogue lists, the schemas the conformance kit
validates against). A wheel carries a copy of it inside the package,
``gateway/contracts/published/`` (setup.py's ``build_py`` puts it there), so an
installation that is not a source tree finds the same files. The packaged copy wins
when it is there; otherwise (a source tree, an editable install) the tree's own.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

SOURCE_TREE: Final = Path(__file__).resolve().parents[2]
"""The directory the ``gateway`` package sits in: the repository root in a source tree."""


def contracts_dir() -> Path:
    """The published contract's directory this Navet runs with."""
    packaged = Path(str(resources.files("gateway"))) / "contracts" / "published"
    if packaged.is_dir():
        return packaged
    return SOURCE_TREE / "contracts"


CONTRACTS: Final = contracts_dir()
