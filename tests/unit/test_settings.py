"""labelling.settings: one precedence for every setting (flag, secrets.toml, environment, default), checked
values, and the one invite link the People page and `labeller add` hand out."""

from __future__ import annotations

import dataclasses

import pytest

from labelling import InvalidInput
from labelling.settings import DEFAULT_PUBLIC_URL, SOURCES, Settings
from labelling.storage.store import DEFAULT_LEASE_SECONDS


def test_nothing_configured_gives_the_defaults(here):
    settings = Settings.load()
    assert settings == Settings()
    assert settings.database_url == "sqlite:///labelling.db"
    assert settings.admin_password is None and settings.public_url is None
    assert settings.lease_seconds == DEFAULT_LEASE_SECONDS and settings.embedded_worker


@pytest.mark.parametrize(
    "name, flag, secret, variable, parsed",
    [
        ("database_url", "sqlite:///flag.db", "sqlite:///secrets.db", "sqlite:///env.db", str),
        ("admin_password", "flag", "secrets", "env", str),
        ("public_url", "https://flag.example.org", "https://secrets.example.org", "https://env.example.org", str),
        ("lease_seconds", "30", "60", "90", float),
    ],
)
def test_flag_then_secrets_then_environment_then_default(
    write_secrets, monkeypatch, name, flag, secret, variable, parsed
):
    default = getattr(Settings(), name)
    assert getattr(Settings.load(), name) == default
    monkeypatch.setenv(SOURCES[name].environment, variable)
    assert getattr(Settings.load(), name) == parsed(variable)
    write_secrets(f'{SOURCES[name].secret} = "{secret}"\n')
    assert getattr(Settings.load(), name) == parsed(secret)  # as the app always did: secrets.toml first
    assert getattr(Settings.load({name: flag}), name) == parsed(flag)
    assert getattr(Settings.load({name: None}), name) == parsed(secret)  # a flag not given


def test_given_secrets_stand_for_the_file(write_secrets):
    """The app passes Streamlit's secrets instead of reading the file itself."""
    write_secrets('admin_password = "from-file"\n')
    assert Settings.load(secrets={"admin_password": "from-streamlit"}).admin_password == "from-streamlit"
    assert Settings.load(secrets={}, environ={}).admin_password is None


def test_hosting_providers_postgres_urls_use_the_installed_driver(here):
    loaded = Settings.load({"database_url": "postgres://u@h:5432/d"})
    assert loaded.database_url == "postgresql+psycopg2://u@h:5432/d"


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_a_lease_that_cannot_be_right_is_refused_at_start(here, value):
    with pytest.raises(InvalidInput, match="lease_seconds must be a positive number of seconds"):
        Settings.load(environ={SOURCES["lease_seconds"].environment: value})


def test_the_embedded_worker_is_on_unless_switched_off_with_0(here):
    variable = SOURCES["embedded_worker"].environment
    assert Settings.load(environ={variable: "1"}).embedded_worker
    assert not Settings.load(environ={variable: "0"}).embedded_worker


def test_a_broken_secrets_file_is_named(write_secrets):
    write_secrets("database_url = \n")
    with pytest.raises(InvalidInput, match="secrets.toml is not valid TOML"):
        Settings.load()


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().lease_seconds = 1.0


def test_the_invite_link_public_url_then_the_address_seen_then_localhost():
    assert Settings(public_url="https://labels.example.org/").invite_link("abc", "http://seen") == (
        "https://labels.example.org/?token=abc"
    )
    assert Settings().invite_link("abc", "http://10.0.0.5:8501/sub") == "http://10.0.0.5:8501/sub/?token=abc"
    assert Settings().invite_link("abc") == f"{DEFAULT_PUBLIC_URL}/?token=abc"
