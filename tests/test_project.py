"""The project's promises to a newcomer: README commands, settings table, CI, Procfile, migrations."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bridge import settings
from bridge.store.models import Base

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    """The shell blocks of the README's "Set up" section."""
    section = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, re.S)


def test_readme_has_the_two_setup_commands_and_ci_runs_the_test_one():
    serve, test = readme_commands()
    assert serve.endswith("bridge serve") and "pip install -e ." in serve
    assert test.endswith("pytest") and '".[test]"' in test
    assert test in (ROOT / ".ci" / "run").read_text()


def test_every_setting_is_in_the_readme_table():
    for name in settings.DEFAULTS:
        assert f"| `BRIDGE_{name}` |" in README, name


def test_procfile_runs_gunicorn_on_port_and_the_worker():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile["web"].startswith("gunicorn ") and "bridge:create_app()" in procfile["web"]
    assert procfile["worker"] == "bridge worker"
    from bridge import gunicorn_conf

    assert gunicorn_conf.bind.endswith(":5000") or "PORT" in (ROOT / "bridge" / "gunicorn_conf.py").read_text()


def test_migrations_match_the_models(database_url):
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_settings_come_from_bridge_variables():
    config = settings.from_environment({"BRIDGE_RETRY_MAX": "3", "BRIDGE_ALLOW_PRIVATE_TARGETS": "yes",
                                        "BRIDGE_QUICKBOOKS_CLIENT_ID": "abc", "OTHER": "x"})
    assert config["RETRY_MAX"] == 3 and config["ALLOW_PRIVATE_TARGETS"] is True
    assert settings.provider_settings(config, "quickbooks")["client_id"] == "abc"


def test_secret_key_rotation_decrypts_old_and_encrypts_new(tmp_path):
    from cryptography.fernet import Fernet

    from bridge.store.crypto import Vault, load_keys

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = Vault(load_keys(old, str(tmp_path))).seal({"refresh_token": "r-1"})
    rotated = Vault(load_keys(f"{new},{old}", str(tmp_path)))
    assert rotated.open(sealed) == {"refresh_token": "r-1"}
    assert Vault(load_keys(new, str(tmp_path))).open(rotated.rotate(sealed)) == {"refresh_token": "r-1"}


def test_generated_secret_key_is_private(tmp_path):
    from bridge.store.crypto import load_keys

    load_keys(None, str(tmp_path))
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
