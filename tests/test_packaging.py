"""A non-editable install carries everything the app serves: every package,
the console's templates and its static files."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_console_templates_and_assets(tmp_path):
    # Built from a copy: setuptools leaves a build/ folder where it builds.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", "docs"
        ),
    )
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--quiet", "--wheel-dir", str(wheels), str(source)],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("smsledger-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    web = ROOT / "api" / "web"
    shipped = [
        "smsledger/" + path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static")
        for path in (web / folder).iterdir()
    ]
    assert shipped
    assert set(shipped) <= names
    for module in ("api/routes/__init__.py", "api/web/__init__.py", "ledger/cli.py"):
        assert f"smsledger/{module}" in names
    # Nothing outside the one package: no generic top-level names.
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"smsledger"}
