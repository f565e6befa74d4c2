"""Static files never leave their directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from framework.http.static import StaticFiles


@pytest.fixture
def public(tmp_path: Path) -> Path:
    root = tmp_path / "public"
    (root / "css").mkdir(parents=True)
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "css" / "site.css").write_text("body{}")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("docs")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "leak.txt")
    os.symlink(root / "css" / "site.css", root / "alias.css")
    return root


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/css/site.css", "css/site.css"),
        ("/", "index.html"),
        ("/docs", "docs/index.html"),
        ("/docs/", "docs/index.html"),
        ("//css//site.css", "css/site.css"),
        ("/alias.css", "css/site.css"),  # a symlink inside the directory is fine
    ],
)
def test_served(public: Path, path: str, expected: str) -> None:
    found = StaticFiles(public).lookup(path)
    assert found is not None
    assert found[0] == os.path.realpath(public / expected)


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/css/../../secret.txt",
        "/leak.txt",
        "/missing.css",
        "/css",  # a directory without index.html
        "/css/site.css\x00.png",
        "/..\\secret.txt",
        "/./../secret.txt",
    ],
)
def test_refused(public: Path, path: str) -> None:
    assert StaticFiles(public).lookup(path) is None
    assert StaticFiles(public).response(path) is None


def test_absolute_path_stays_inside(public: Path, tmp_path: Path) -> None:
    assert StaticFiles(public).lookup(str(tmp_path / "secret.txt")) is None
