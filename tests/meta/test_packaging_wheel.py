"""`pip install .` into a fresh venv: the CLI works without the emulator, says in one line what
`local` needs, and `[local]` runs one handler outside any checkout (template shipped in the wheel)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from alertbridge_tools.template import ROOT

BASE = str(Path(sys.base_prefix) / "bin" / "python3")  # `make setup` installs uv into it
UV = [BASE, "-m", "uv"]


def _run(cmd: list[str], cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False, **kw)  # type: ignore[call-overload]


def test_fresh_venv_cli_without_and_with_the_local_extra(tmp_path: Path) -> None:
    built = _run([*UV, "build", "--offline", "--wheel", "-o", str(tmp_path / "dist"), str(ROOT)], ROOT)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "alertbridge_tools/_stack/template.yaml" in names
    assert "alertbridge_tools/_stack/functions/kapacitor/app.py" in names
    venv = tmp_path / "venv"
    assert (
        _run([*UV, "venv", "--offline", "-q", "--python", sys.executable, str(venv)], tmp_path).returncode
        == 0
    )
    py = str(venv / "bin" / "python")
    done = _run([*UV, "pip", "install", "-q", "--python", py, str(wheel)], tmp_path)
    assert done.returncode == 0, done.stderr
    cli = str(venv / "bin" / "alertbridge")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    assert _run([cli, "--help"], tmp_path, env=env).returncode == 0
    assert _run([py, "-c", "import moto"], tmp_path, env=env).returncode != 0  # no emulator in the base
    listed = _run([cli, "--url", "http://127.0.0.1:9", "services", "list"], tmp_path, env=env)
    assert listed.returncode == 1 and len(listed.stderr.strip().splitlines()) == 1, listed.stderr
    local = _run([cli, "local"], tmp_path, env=env)
    assert local.returncode == 2 and local.stderr.strip().splitlines() == [local.stderr.strip()]
    assert "pip install 'alertbridge[local]'" in local.stderr

    extra = _run([*UV, "pip", "install", "-q", "--python", py, f"{wheel}[local]"], tmp_path)
    assert extra.returncode == 0, extra.stderr
    event = tmp_path / "critical.json"
    shutil.copy(ROOT / "events/kapacitor/critical.json", event)
    done = _run([cli, "invoke", "KapacitorIngestFunction", "-e", str(event), "--json"], tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["response"]["statusCode"] == 202
