"""A non-editable install carries everything the app serves: every package,
the console's templates and its static files."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_console_templates_and_assets(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--quiet", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("smsledger-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    web = ROOT / "api" / "web"
    shipped = [
        path.relative_to(ROOT).as_posix()
        for folder in ("templates", "static")
        for path in (web / folder).iterdir()
    ]
    assert shipped
    assert set(shipped) <= names
    for module in ("api/routes/__init__.py", "api/web/__init__.py", "ledger/cli.py"):
        assert module in names
