from __future__ import annotations

from pathlib import Path

import pytest

from .venv import Venv, make_venv


@pytest.fixture(scope="package")
def navet_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return make_venv(Path(tmp_path_factory.mktemp("navet-venv")))
