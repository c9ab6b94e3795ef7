"""`wirewatch telegram login`, offline: refusals, and the full prompt flow against a fake Telethon client."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from telethon import errors
from typer.testing import CliRunner

import ingest.cli.telegram as tg_cli
from ingest.cli import app

SESSION = "1ApWapzMBuFAKESESSIONSTRING0123456789abcdefABCDEF=="
API_HASH = "fedcba9876543210fedcba9876543210"


class FakeLoginClient:
    def __init__(self, api_id: int, api_hash: str, *, password: str | None = None):
        self.api_id, self.api_hash, self.password = api_id, api_hash, password
        self.calls: list[str] = []
        self.session = SimpleNamespace(save=lambda: SESSION)
        self.connected = False

    async def connect(self):
        self.connected = True

    async def is_user_authorized(self):
        return False

    async def send_code_request(self, phone):
        self.calls.append(f"code:{phone}")
        return SimpleNamespace(phone_code_hash="hash-1")

    async def sign_in(self, phone=None, code=None, phone_code_hash=None, password=None):
        if password is not None:
            if password != self.password:
                raise errors.PasswordHashInvalidError(request=None)
            self.calls.append("password")
            return
        if code != "12345" or phone_code_hash != "hash-1":
            raise errors.PhoneCodeInvalidError(request=None)
        self.calls.append(f"sign_in:{phone}")
        if self.password is not None:
            raise errors.SessionPasswordNeededError(request=None)

    async def get_me(self):
        return SimpleNamespace(username="analyst", first_name="Ann", id=42)

    async def disconnect(self):
        self.connected = False


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "AIRFLOW_CONN_TELEGRAM")):
            monkeypatch.delenv(name)
    return CliRunner()


@pytest.fixture
def fake(monkeypatch):
    made: list[FakeLoginClient] = []

    def use(**kw):
        def factory(api_id, api_hash):
            made.append(FakeLoginClient(api_id, api_hash, **kw))
            return made[-1]

        monkeypatch.setattr(tg_cli, "client_factory", factory)
        return made

    return use


def test_refuses_cleanly_without_an_api_id(runner, fake):
    made = fake()
    result = runner.invoke(app, ["telegram", "login"], input="\n")
    assert result.exit_code == 2
    assert "an API id is required" in result.output and "TELEGRAM_API_ID" in result.output
    assert made == []  # no client was built, nothing was sent
    result = runner.invoke(app, ["telegram", "login"], input="not-a-number\n")
    assert result.exit_code == 2 and made == []
    result = runner.invoke(app, ["telegram", "login"], input="")  # no terminal: end of input at once
    assert result.exit_code == 2 and "an API id is required" in result.output and made == []


def test_refuses_without_an_api_hash(runner, fake):
    made = fake()
    result = runner.invoke(app, ["telegram", "login"], input="123\n\n")
    assert result.exit_code == 2 and "an API hash is required" in result.output and made == []


def test_login_prints_the_session_once_and_saves_nothing(runner, fake, tmp_path, monkeypatch):
    made = fake()
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app, ["telegram", "login"], input="+441234567\n12345\n",
        env={"TELEGRAM_API_ID": "123", "TELEGRAM_API_HASH": API_HASH},
    )  # fmt: skip
    assert os.listdir(tmp_path) == []
    assert result.exit_code == 0, result.output
    assert result.output.count(SESSION) == 1
    assert API_HASH not in result.output
    assert "Logged in as @analyst" in result.output
    assert "TELEGRAM_SESSION" in result.output and "AIRFLOW_CONN_TELEGRAM_DEFAULT" in result.output
    (client,) = made
    assert (client.api_id, client.api_hash) == (123, API_HASH)
    assert client.calls == ["code:+441234567", "sign_in:+441234567"] and not client.connected


def test_login_with_two_step_password_and_named_account(runner, fake):
    made = fake(password="hunter2")
    result = runner.invoke(
        app, ["telegram", "login", "--account", "ops", "--phone", "+100"], input="12345\nhunter2\n",
        env={"TELEGRAM_OPS_API_ID": "77", "TELEGRAM_OPS_API_HASH": API_HASH},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert made[0].calls == ["code:+100", "sign_in:+100", "password"]
    assert "TELEGRAM_OPS_SESSION" in result.output and "AIRFLOW_CONN_TELEGRAM_OPS" in result.output
    assert result.output.count(SESSION) == 1 and "hunter2" not in result.output


def test_login_prompts_for_id_and_hash(runner, fake):
    made = fake()
    result = runner.invoke(app, ["telegram", "login"], input=f"555\n{API_HASH}\n+100\n12345\n")
    assert result.exit_code == 0, result.output
    assert made[0].api_id == 555 and made[0].api_hash == API_HASH


def test_wrong_code_or_password_fails_without_a_session(runner, fake):
    fake()
    env = {"TELEGRAM_API_ID": "123", "TELEGRAM_API_HASH": API_HASH}
    result = runner.invoke(app, ["telegram", "login", "--phone", "+100"], input="99999\n", env=env)
    assert result.exit_code == 1 and "code was wrong" in result.output and SESSION not in result.output
    made = fake(password="right")
    result = runner.invoke(app, ["telegram", "login", "--phone", "+100"], input="12345\nwrong\n", env=env)
    assert result.exit_code == 1 and "password was wrong" in result.output and SESSION not in result.output
    assert not made[0].connected
