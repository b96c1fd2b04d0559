"""The deployable shape: locked layer requirements, thin functions, one route + function per source."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib

import pytest
from alertbridge import vendors
from alertbridge_tools.template import ROOT, load_template


def _runtime_closure() -> dict[str, str]:
    """The project's runtime (non-dev) dependencies and theirs, with the versions uv.lock pins."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {p["name"]: p for p in lock["package"]}
    project = next(p for p in lock["package"] if p.get("source", {}).get("editable") == ".")
    todo = [d["name"] for d in project.get("dependencies", [])]
    found: dict[str, str] = {}
    while todo:
        name = todo.pop()
        if name not in found:
            found[name] = packages[name]["version"]
            todo += [d["name"] for d in packages[name].get("dependencies", [])]
    return found


def test_layer_requirements_are_the_locked_runtime_dependencies() -> None:
    text = (ROOT / "layers/core/requirements.txt").read_text().splitlines()
    have = dict(line.split("==") for line in text if line and not line.startswith("#"))
    assert have == _runtime_closure(), "regenerate layers/core/requirements.txt (see its header)"
    assert not set(have) & {"boto3", "botocore", "moto"}


def test_the_layer_holds_only_the_runtime_package() -> None:
    layer = ROOT / "layers/core"
    assert sorted(p.name for p in layer.iterdir() if not p.name.startswith((".", "__"))) == [
        "Makefile",  # its build recipe (sam build): dependencies, the package, bytecode
        "alertbridge",
        "requirements.txt",
    ]
    code = "\n".join(p.read_text() for p in (layer / "alertbridge").rglob("*.py"))
    assert "alertbridge_tools" not in code and "moto" not in code


def test_the_package_data_files_ship() -> None:
    """Files read with importlib.resources (status/status.css, vendors/samples/*.json) ship only if
    the layer build copies the whole package directory and the wheel takes every file under it."""
    assert 'cp -R alertbridge "$(ARTIFACTS_DIR)/python/"' in (ROOT / "layers/core/Makefile").read_text()
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert set(wheel) == {"packages"} and "layers/core/alertbridge" in wheel["packages"]  # no file filter
    package = ROOT / "layers/core/alertbridge"
    data = [str(p) for p in package.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}]
    assert str(package / "status" / "status.css") in data
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *data], check=False, capture_output=True, text=True, cwd=ROOT
    )
    assert ignored.returncode == 1, f"git-ignored files are left out of the wheel: {ignored.stdout}"


def test_functions_are_thin_and_each_source_has_a_function_and_route() -> None:
    template = load_template()
    functions = {
        k: v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Serverless::Function"
    }
    routes = {}
    for logical, props in functions.items():
        app = ROOT / props["CodeUri"] / "app.py"
        body = [
            line
            for line in app.read_text().splitlines()
            if line.strip() and not line.startswith(('"""', "#"))
        ]
        assert len(body) <= 3, f"{app} should only pick an entry point"
        for event in props.get("Events", {}).values():
            if event["Type"] == "Api":
                routes[event["Properties"]["Path"]] = logical
    for source in vendors.SOURCES:
        assert f"/hooks/{source}/{{token}}" in routes, source
        app = ROOT / functions[routes[f"/hooks/{source}/{{token}}"]]["CodeUri"] / "app.py"
        assert f"ingest_handler({source})" in app.read_text()
        assert sorted((ROOT / "events" / source).glob("*.json")), f"no events/{source}"


def test_every_source_has_a_test_alert_sample() -> None:
    for source in vendors.SOURCES:
        assert vendors.sample(source).strip().startswith(b"{")


def test_threatstack_route_is_ip_restricted_by_a_switchable_resource_policy() -> None:
    template = load_template()
    assert template["Parameters"]["RestrictThreatStackSourceIps"]["Default"] == "true"
    statements = template["Resources"]["Api"]["Properties"]["Auth"]["ResourcePolicy"]["CustomStatements"]
    [switch] = [s for s in statements if "Fn::If" in s]
    condition, deny, _ = switch["Fn::If"]
    assert template["Conditions"][condition] == {
        "Fn::Equals": [{"Ref": "RestrictThreatStackSourceIps"}, "true"]
    }
    assert deny["Effect"] == "Deny" and deny["Resource"].endswith("/POST/hooks/threatstack/*")
    ips = {ip.removesuffix("/32") for ip in deny["Condition"]["NotIpAddress"]["aws:SourceIp"]}
    assert ips == {"52.20.173.142", "54.173.79.87", "54.174.225.119"}  # PRODUCT.md §1


def test_no_wildcard_actions_in_any_policy() -> None:
    text = (ROOT / "template.yaml").read_text()
    for match in re.finditer(r"Action:\s*(\[[^\]]*\]|\S+)", text):
        assert "*" not in match.group(1).replace('"s3:*"', ""), match.group(0)
    assert "DynamoDBCrudPolicy" not in text


def test_samconfig_has_dev_and_prod() -> None:
    text = (ROOT / "samconfig.toml").read_text()
    assert "[default.deploy.parameters]" in text and "[prod.deploy.parameters]" in text
    assert 'Stage=\\"prod\\"' in text


@pytest.mark.parametrize("function", [*vendors.SOURCES, "incidents", "checker"])
def test_init_creates_only_the_clients_every_request_needs(function: str) -> None:
    """A cold start pays for what its init builds: an ingest function needs DynamoDB and the bus on
    every request (S3 only for the rare body too large for an item: created by the first), the
    incident function DynamoDB alone; neither loads the other's logic. The checker reads when a
    source was last heard from, never a delivery record: it does not build their models."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    probe = [
        sys.executable,
        str(ROOT / "bench/cold_start_probe.py"),
        str(ROOT / f"functions/{function}/app.py"),
    ]
    done = subprocess.run(probe, capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=120)
    init = json.loads(done.stdout.splitlines()[-1])
    if function == "checker":
        assert not {"alertbridge.models.delivery", "alertbridge.ingest"} & set(init["modules"])
    elif function == "incidents":
        assert init["clients"] == ["dynamodb"]
        assert "alertbridge.ingest" not in init["modules"] and "alertbridge.vendors" not in init["modules"]
    else:
        assert init["clients"] == ["dynamodb", "events"]
        loaded = {m for m in init["modules"] if m.startswith("alertbridge.vendors.")}
        assert loaded == {"alertbridge.vendors.base", f"alertbridge.vendors.{function}"}
        # nor the incident logic, nor the rule models (loaded with the first service that has rules)
        unused = {"alertbridge.decisions", "alertbridge.models.incident", "alertbridge.consumer"}
        assert not (unused | {"alertbridge.models.rule", "alertbridge.rules"}) & set(init["modules"])
