"""Both platforms read an Airflow connection in the environment through one parser, so they accept the same
spellings: JSON with extra as an object or as a JSON string, and the URI form with extras as query parameters or
as `__extra__`."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ingest.sources.airflow_conn import parse_airflow_connection
from ingest.sources.base import SourceError
from ingest.sources.telegram.credentials import credentials_from_env
from ingest.sources.x import bearer_token_from_env

_EXTRA = {"bearer_token": "tok-en", "session": "1AaBb=="}
SPELLINGS = {
    "json, extra object": json.dumps({"login": "12345", "password": "hash", "extra": _EXTRA}),
    "json, extra as a JSON string": json.dumps(
        {"login": "12345", "password": "hash", "extra": json.dumps(_EXTRA)}
    ),
    "uri, extras as query": "generic://12345:hash@?bearer_token=tok-en&session=" + quote("1AaBb=="),
    "uri, __extra__": "generic://12345:hash@?__extra__=" + quote(json.dumps(_EXTRA)),
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_spelling_gives_the_same_connection(spelling):
    conn = parse_airflow_connection(SPELLINGS[spelling], "AIRFLOW_CONN_T")
    assert (conn.login, conn.password) == ("12345", "hash")
    assert conn.extra["bearer_token"] == "tok-en" and conn.extra["session"] == "1AaBb=="


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_both_platforms_read_every_spelling(spelling):
    value = SPELLINGS[spelling]
    creds = credentials_from_env("news", {"AIRFLOW_CONN_TELEGRAM_NEWS": value})
    assert (creds.api_id, creds.api_hash, creds.session) == (12345, "hash", "1AaBb==")
    # X's token is the connection's password; without one, its extra's bearer_token.
    assert bearer_token_from_env("news", {"AIRFLOW_CONN_X_NEWS": value}) == "hash"
    no_password = value.replace("12345:hash@", "12345@").replace('"password": "hash", ', "")
    assert bearer_token_from_env("news", {"AIRFLOW_CONN_X_NEWS": no_password}) == "tok-en"


def test_secrets_stay_out_of_repr():
    conn = parse_airflow_connection(SPELLINGS["json, extra object"], "AIRFLOW_CONN_T")
    assert "hash" not in repr(conn) and "tok-en" not in repr(conn) and "12345" in repr(conn)


@pytest.mark.parametrize("bad", ["{nope", '{"extra": "[1, 2]"}', "generic://u:p@?__extra__=%7Bnope"])
def test_a_malformed_connection_is_named(bad):
    with pytest.raises(SourceError, match="AIRFLOW_CONN_T is"):
        parse_airflow_connection(bad, "AIRFLOW_CONN_T")
