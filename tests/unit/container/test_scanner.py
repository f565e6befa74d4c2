"""The scanner imports every module of the app packages and reports failures precisely."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from framework import Application
from framework.container import ScanError, scan_packages


@pytest.fixture
def app_root(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path; every module imported from it is removed afterwards."""
    sys.path.insert(0, str(tmp_path))
    before = set(sys.modules)
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in set(sys.modules) - before:
            del sys.modules[name]


def write(root: Path, relative: str, source: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_scan_collects_classes_and_functions_defined_in_every_module(app_root: Path) -> None:
    write(app_root, "shop/__init__.py", "")
    write(app_root, "shop/service/__init__.py", "")
    write(
        app_root,
        "shop/service/orders.py",
        """
        from framework import bean
        from shop.repo import Repo

        @bean
        class Orders:
            def __init__(self, repo: Repo) -> None:
                self.repo = repo

        def helper() -> None: ...
        """,
    )
    write(app_root, "shop/repo.py", "from framework import bean\n@bean\nclass Repo: ...\n")
    result = scan_packages(["shop"])
    assert result.modules == ("shop", "shop.repo", "shop.service", "shop.service.orders")
    assert sorted(c.__name__ for c in result.classes) == ["Orders", "Repo"]
    assert [f.__name__ for f in result.functions] == ["helper"]
    app = Application.boot(["shop"])
    orders = app.container.get(result.classes[[c.__name__ for c in result.classes].index("Orders")])
    assert type(orders.repo).__name__ == "Repo"


def test_module_that_fails_to_import_is_named_with_file_line_and_error(app_root: Path) -> None:
    write(app_root, "broken/__init__.py", "")
    bad = write(app_root, "broken/bad.py", "x = 1\nraise RuntimeError('db url missing')\n")
    with pytest.raises(ScanError) as info:
        scan_packages(["broken"])
    assert str(info.value).splitlines() == [
        "module 'broken.bad' failed to import: RuntimeError: db url missing",
        f"  at: {bad}:2",
        "  fix: correct the error above; the scanner imports every module under the app packages",
    ]
    assert isinstance(info.value.__cause__, RuntimeError)


def test_syntax_error_points_at_the_line(app_root: Path) -> None:
    write(app_root, "typo/__init__.py", "")
    bad = write(app_root, "typo/handlers.py", "def f(:\n    pass\n")
    with pytest.raises(ScanError) as info:
        scan_packages(["typo"])
    first, at, _ = str(info.value).splitlines()
    assert first.startswith("module 'typo.handlers' failed to import: SyntaxError:")
    assert at == f"  at: {bad}:1"


def test_missing_package_says_where_it_looked(app_root: Path) -> None:
    with pytest.raises(ScanError) as info:
        scan_packages(["nope_not_here"])
    lines = str(info.value).splitlines()
    assert lines[0] == "cannot scan package 'nope_not_here': no such module"
    assert lines[1].startswith("  searched: ")
    assert lines[2] == (
        "  fix: run from the app directory (appctl -C DIR), or set app.packages in config/app.py"
    )


def test_boot_with_app_dir_loads_config_and_packages(app_root: Path) -> None:
    write(app_root, "config/app.py", "packages = ['webapp']\nname = 'demo'\n")
    write(app_root, "webapp/__init__.py", "")
    write(
        app_root,
        "webapp/greeter.py",
        """
        from framework import bean, config_value

        @bean
        class Greeter:
            name: str = config_value("app.name")
        """,
    )
    app = Application.boot(app_dir=app_root)
    greeter_cls = next(c for c in app.scan.classes if c.__name__ == "Greeter")
    assert app.container.get(greeter_cls).name == "demo"
