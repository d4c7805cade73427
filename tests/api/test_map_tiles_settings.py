"""``console.map_tiles``: off by default, a URL template with {z}, {x} and {y} when set, and
its origin the only one besides Navet's that the alarm queue may load images from."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.api.routes.console import tile_origin
from gateway.core.settings import Settings


def test_no_tiles_by_default() -> None:
    assert Settings().console.map_tiles is None
    assert tile_origin(None) is None


@pytest.mark.parametrize("template", [
    "https://karta.kommun.example/tiles/{z}/{x}/{y}.png",
    "http://127.0.0.1:8081/{z}/{x}/{y}.png",
    "/tiles/{z}/{x}/{y}.png",
])
def test_a_tile_template_is_taken(template: str) -> None:
    assert Settings(console={"map_tiles": template}).console.map_tiles == template


@pytest.mark.parametrize(("template", "why"), [
    ("https://karta.example/{z}/{x}.png", "needs {z}, {x} and {y}"),
    ("javascript:alert(1)//{z}/{x}/{y}", "should match pattern"),
    ("ftp://karta.example/{z}/{x}/{y}.png", "should match pattern"),
    ("https://karta.example/{z}/{x}/{y}.png x", "should match pattern"),
])
def test_a_wrong_tile_template_is_refused_naming_the_setting(template: str, why: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(console={"map_tiles": template})
    assert "console.map_tiles" in str(err.value) and why in str(err.value)


def test_the_origin_of_a_tile_server() -> None:
    assert tile_origin("https://karta.example:8443/t/{z}/{x}/{y}.png") == \
        "https://karta.example:8443"
    assert tile_origin("/tiles/{z}/{x}/{y}.png") is None  # Navet's own origin: 'self'
