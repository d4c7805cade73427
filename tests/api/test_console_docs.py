"""docs/console.md shows every screen, with pictures the browser tests made.

Each picture the page shows is checked in under docs/console/ as a PNG;
``python3 -m tests.screenshots`` renews them from the tests' screenshot folder and says
which ones no test made.
"""

from __future__ import annotations

from pathlib import Path

from tests import screenshots

PNG = b"\x89PNG\r\n\x1a\n"
SCREENS = {"signin.png", "alarm-queue.png", "alarm-map.png", "live.png", "homecare.png",
           "homecare-map.png", "home.png", "uppfoljning.png"}


def test_every_picture_the_console_page_shows_is_checked_in() -> None:
    names = screenshots.shown()
    assert set(names) >= SCREENS, sorted(SCREENS - set(names))
    for name in names:
        picture = screenshots.TARGET / name
        assert picture.is_file(), f"docs/console.md shows {name}, which is not checked in"
        assert picture.read_bytes()[:8] == PNG, name


def test_the_copy_takes_what_the_page_shows_and_names_what_is_missing(tmp_path: Path) -> None:
    doc = tmp_path / "console.md"
    doc.write_text("![A](console/a.png) text ![B](console/b.png) ![x](elsewhere/c.png)\n",
                   encoding="utf-8")
    source = tmp_path / "shots"
    source.mkdir()
    (source / "a.png").write_bytes(PNG + b"a")
    (source / "c.png").write_bytes(PNG + b"c")
    target = tmp_path / "docs"
    copied, missing = screenshots.copy(source, target, doc)
    assert (copied, missing) == (["a.png"], ["b.png"])
    assert (target / "a.png").read_bytes() == PNG + b"a"
    assert sorted(p.name for p in target.iterdir()) == ["a.png"]
