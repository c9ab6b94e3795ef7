"""docker-compose.yml, the Dockerfile and docker/ agree with the code (Docker itself does not run here): services,
commands, environment names, volumes, the DAG folder, the databases and the Celery profile."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from ingest.run import dag_tasks as orchestration

AIRFLOW_SERVICES = ("airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker")  # fmt: skip
COMMANDS = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
            "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
            "airflow-worker": "celery worker"}  # fmt: skip
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR:-default} (the only form the file uses), with `env` as the shell/.env."""
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


@pytest.fixture(scope="module")
def compose(repo_root) -> dict:
    return yaml.safe_load((repo_root / "docker-compose.yml").read_text())


def environment(compose, service: str, env: dict[str, str] | None = None) -> dict[str, str]:
    return {k: interpolate(str(v), env or {}) for k, v in compose["services"][service]["environment"].items()}


def test_services_follow_airflows_official_shape(compose):
    assert "x-airflow-common" in compose
    assert set(compose["services"]) == {"postgres", "redis", "console", *AIRFLOW_SERVICES}
    for name, command in COMMANDS.items():
        assert compose["services"][name]["command"] == command
    for name in AIRFLOW_SERVICES:
        svc = compose["services"][name]
        assert svc["image"] == compose["x-airflow-common"]["image"] and svc["build"] == "."
        # Everything after the init service waits for it to finish.
        if name not in ("airflow-init",):
            assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.slow  # runs the airflow and wirewatch commands the file names
def test_commands_exist_in_airflow_and_wirewatch(compose):
    from typer.testing import CliRunner

    from ingest.cli import _register, app

    airflow = str(Path(sys.executable).with_name("airflow"))
    top = subprocess.run([airflow, "--help"], capture_output=True, text=True, timeout=120).stdout
    for command in COMMANDS.values():
        assert re.search(rf"^\s+{command.split()[0]}\s", top, re.M), f"airflow has no {command!r} command"
    celery = subprocess.run([airflow, "celery", "--help"], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r"^\s+worker\s", celery, re.M)

    init = compose["services"]["airflow-init"]["command"][-1]
    steps = [
        line.strip() for line in init.splitlines() if line.strip() and not line.strip().startswith("set ")
    ]
    assert steps == ["airflow db migrate", "airflow pools import /opt/wirewatch/docker/pools.json",
                     "wirewatch airflow pools --apply", "wirewatch db upgrade",
                     "wirewatch analyst create-role"]  # fmt: skip
    _register()
    runner = CliRunner()
    for args in (["airflow", "pools", "--help"], ["db", "upgrade", "--help"]):
        assert runner.invoke(app, args).exit_code == 0, args


def test_warehouse_and_airflow_metadata_are_separate_databases(compose, repo_root):
    env = environment(compose, "airflow-scheduler")
    pg = compose["services"]["postgres"]["environment"]
    warehouse = urlsplit(env["AIRFLOW_CONN_WIREWATCH_DB"])
    # The DAG finds the warehouse through this connection name, the CLI through WIREWATCH_DSN: the same database.
    assert f"AIRFLOW_CONN_{orchestration.CONN_ID.upper()}" == "AIRFLOW_CONN_WIREWATCH_DB"
    assert env["WIREWATCH_DSN"] == env["AIRFLOW_CONN_WIREWATCH_DB"]
    assert (warehouse.scheme, warehouse.hostname, warehouse.path.lstrip("/")) == (
        "postgresql",
        "postgres",
        pg["POSTGRES_DB"],
    )
    assert warehouse.username == pg["POSTGRES_USER"]
    assert warehouse.password == interpolate(pg["POSTGRES_PASSWORD"], {})
    meta = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert meta.hostname == "postgres" and meta.path.lstrip("/") == "airflow" != pg["POSTGRES_DB"]
    # Airflow's database and role come from the init script, with the password Airflow is given.
    mounts = compose["services"]["postgres"]["volumes"]
    (script,) = [m.split(":")[0] for m in mounts if "/docker-entrypoint-initdb.d/" in m]
    text = (repo_root / script).read_text()
    assert "CREATE DATABASE airflow OWNER airflow" in text and "CREATE ROLE airflow LOGIN" in text
    assert interpolate(pg["AIRFLOW_DB_PASSWORD"], {}) == meta.password
    assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")).path == meta.path


def test_volumes_dag_folder_and_paths_match_the_image(compose, repo_root):
    env = environment(compose, "airflow-scheduler")
    mounts = dict(m.split(":")[:2] for m in compose["x-airflow-common"]["volumes"] if m.startswith("./"))
    assert mounts["./dags"] == env["AIRFLOW__CORE__DAGS_FOLDER"]
    assert (repo_root / "dags" / "wirewatch_hourly.py").is_file()
    seeds = mounts["./seeds"]
    assert (
        env["WIREWATCH_CHANNELS"] == f"{seeds}/channels.toml"
        and (repo_root / "seeds" / "channels.toml").is_file()
    )
    dockerfile = (repo_root / "Dockerfile").read_text()
    copies = dict(re.findall(r"^COPY --chown=\S+ (\S+) (\S+)$", dockerfile, re.M))
    assert copies["schemas"] == env["WIREWATCH_SCHEMAS"] and (repo_root / "schemas").is_dir()
    assert copies["docker/pools.json"] == "/opt/wirewatch/docker/pools.json"
    assert copies["dags"] == env["AIRFLOW__CORE__DAGS_FOLDER"]
    for service in AIRFLOW_SERVICES:
        assert "./dags:/opt/airflow/dags" in compose["services"][service]["volumes"]


def test_image_pins_the_same_airflow_as_the_package(repo_root):
    dockerfile = (repo_root / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python(\S+)$", dockerfile, re.M)
    assert base and base.group(2) == "3.11"
    extra = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "airflow"
    ]
    assert f"apache-airflow=={base.group(1)}" in extra
    assert any(re.fullmatch(r"celery\[redis\].*<5\.7", d) for d in extra)
    assert (
        'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" "/opt/wirewatch[airflow]"'
        in dockerfile
    )


def test_local_executor_by_default_and_celery_as_a_profile(compose, repo_root):
    assert environment(compose, "airflow-scheduler")["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    celery_env = dict(
        line.split("=", 1) for line in (repo_root / "docker" / "celery.env").read_text().splitlines()
        if line and not line.startswith("#")
    )  # fmt: skip
    assert celery_env == {"COMPOSE_PROFILES": "celery", "AIRFLOW_EXECUTOR": "CeleryExecutor"}
    for service in AIRFLOW_SERVICES:
        assert environment(compose, service, celery_env)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    profiled = {n for n, s in compose["services"].items() if s.get("profiles")}
    assert profiled == {"redis", "airflow-worker"}
    assert all(compose["services"][n]["profiles"] == ["celery"] for n in profiled)
    # A service that always runs must not wait for one that only the celery profile starts.
    for name, svc in compose["services"].items():
        if name not in profiled:
            assert not set(svc.get("depends_on", {})) & profiled, name
    worker = compose["services"]["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # scalable with --scale
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    broker = urlsplit(environment(compose, "airflow-worker")["AIRFLOW__CELERY__BROKER_URL"])
    assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379)
    api = urlsplit(environment(compose, "airflow-worker")["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname == "airflow-apiserver" and compose["services"]["airflow-apiserver"]["ports"] == [
        f"{api.port}:8080"
    ]


def test_pools_file_is_what_the_dag_needs(repo_root):
    shipped = json.loads((repo_root / "docker" / "pools.json").read_text())
    assert shipped == orchestration.pools_spec(list(orchestration.BASE_POOLS))


def test_no_secret_values_in_the_compose_file(compose, repo_root):
    text = (repo_root / "docker-compose.yml").read_text()
    for name in ("TELEGRAM_API_HASH", "TELEGRAM_SESSION", "X_BEARER_TOKEN"):
        assert name not in text  # they come from .env (env_file), never from the file
    assert compose["x-airflow-common"]["env_file"] == [{"path": ".env", "required": False}]
    example = (repo_root / "docker" / "env.example").read_text()
    for name in (
        "TELEGRAM_API_ID",
        "TELEGRAM_API_HASH",
        "TELEGRAM_SESSION",
        "X_BEARER_TOKEN",
        "WIREWATCH_START_DATE",
    ):
        assert re.search(rf"^{name}=$|^{name}=\S", example, re.M), name
    assert ".env" in (repo_root / ".dockerignore").read_text().split()
