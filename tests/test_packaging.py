"""The wheel as an operator installs it: every package, the console's templates
and static files, one top-level name; and, installed (not editable) in a fresh
virtual environment, `smsledger serve` serves and routes a message."""

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ADMIN, ADMIN_TOKEN, JANE, NUMBER
from tests.faults.harness import call, free_port

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"api", "domain", "ledger", "projections"}
START_SECONDS = 60


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools leaves a build/ folder where it builds.
    where = tmp_path_factory.mktemp("wheel")
    source = where / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "build", "*.egg-info", "__pycache__", "docs"
        ),
    )
    wheels = where / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps",
         "--quiet", "--wheel-dir", str(wheels), str(source)],
        check=True,
        cwd=where,
    )  # fmt: skip
    (built,) = wheels.glob("smsledger-*.whl")
    return built


def test_wheel_holds_the_console_templates_and_assets(wheel):
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


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed in it, not editable.

    The wheel goes in with --no-deps; its dependencies are the project's own
    .venv's, named by a .pth file added after the install. Fetching them from
    an index would take minutes and test pip, not the package; what this test
    asks of the wheel (its files, the package mapping, the entry point) is all
    in the wheel either way. That .pth adds the folder to the path without
    running the editable install's hook, and the test checks that the code runs
    from the new environment."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install",
         "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )  # fmt: skip
    (venv / site_packages(python) / "smsledger-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    return venv


def site_packages(python: Path) -> Path:
    found = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without what could point back at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.pop("VIRTUAL_ENV", None)
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL", "WORKERS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    return {**env, **settings}


def test_installed_wheel_claims_no_layer_name_and_runs_its_own_code(installed):
    python = installed / "bin" / "python"
    names = {path.name for path in site_packages(python).iterdir()}
    assert not names & LAYERS
    assert "smsledger" in names

    where = subprocess.run(
        [python, "-c", "import smsledger.api.app as m; print(m.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
        env=clean_env(),
    ).stdout.strip()
    assert Path(where).is_relative_to(site_packages(python) / "smsledger")


def test_installed_wheel_serves_and_routes_a_message(installed, database_url, tmp_path):
    smsledger = installed / "bin" / "smsledger"
    shown = subprocess.run(
        [smsledger, "serve", "--help"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=clean_env(),
    ).stdout  # fmt: skip
    assert "--workers" in shown

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = clean_env(DATABASE_URL=database_url, ADMIN_TOKEN=ADMIN_TOKEN)
    with log.open("w") as out:
        process = subprocess.Popen(
            [smsledger, "serve", "--port", str(port)],
            cwd=tmp_path,  # var/ (mail, secret key) goes here
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_serving(process, base, log)
        account = call(base, "POST", "/v1/accounts", {"name": "Acme"}, ADMIN)
        assert account.status == 201, account.body
        auth = {"Authorization": f"Bearer {account.body['api_key']}"}

        def ok(method: str, path: str, body: Any) -> Any:
            answer = call(base, method, path, body, auth)
            assert answer.status in (200, 201), answer.body
            return answer.body

        ok("PUT", f"/v1/inbound-numbers/{NUMBER}", {"backup_email": "d@acme.test"})
        ok("PUT", "/v1/users/ann", {"email": "ann@acme.test", "name": "Ann"})
        ok("PUT", "/v1/contacts/c1", {"name": "Jane Roe", "phones": [JANE]})
        note = {"user_id": "ann", "contact_id": "c1", "to": JANE, "from": NUMBER}
        ok("POST", "/v1/interactions/sms", note)
        sms = {"from": JANE, "to": NUMBER, "body": "hi", "message_id": "SM1"}
        decision = ok("POST", "/v1/inbound-sms", sms)

        assert isinstance(decision, dict)
        assert decision["rule"] == "previous_sms"
        assert decision["recipient"]["user_id"] == "ann"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def wait_until_serving(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while call(base, "GET", "/healthz", timeout=2).status != 200:
        if process.poll() is not None:
            pytest.fail(f"smsledger serve exited:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"smsledger serve not serving:\n{log.read_text()}")
        time.sleep(0.05)  # polling interval, not synchronisation
