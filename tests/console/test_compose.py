"""The `console` service of docker-compose.yml: the image's wirewatch serve, bound for the port mapping with a
token, published on the host's loopback only, after the init service has migrated and made the analyst role."""

from __future__ import annotations

import yaml
from typer.testing import CliRunner


def test_console_service(repo_root):
    compose = yaml.safe_load((repo_root / "docker-compose.yml").read_text())
    svc = compose["services"]["console"]
    assert svc["image"] == compose["x-airflow-common"]["image"]
    assert svc["entrypoint"] == ["wirewatch"] and svc["command"][:1] == ["serve"]
    assert all(p.startswith("127.0.0.1:") for p in svc["ports"])
    env = svc["environment"]
    assert "WIREWATCH_CONSOLE_TOKEN" in env and "WIREWATCH_DSN" in env
    assert "env_file" not in svc  # no Telegram or X secrets in the console's container
    assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    init = compose["services"]["airflow-init"]["command"][-1]
    assert "wirewatch analyst create-role" in init

    import ingest.cli.serve  # noqa: F401 - registers the command
    from ingest.cli import app

    assert CliRunner().invoke(app, ["serve", "--help"]).exit_code == 0
