"""Production settings come from the environment and are secure by default:
`manage.py check --deploy` finds nothing to warn about, debug is off unless asked for."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "nearlabel.example.org"


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """What docs/OPERATIONS.md asks production to set; nothing from this test run."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": HOST,
        "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
        "NEAR_AUTH_RECIPIENT": HOST,
        "NEARLABEL_VAR_DIR": str(tmp_path / "var"),
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(env: dict[str, str], *names: str) -> list[str]:
    code = "import django; django.setup(); from django.conf import settings as s; " + "; ".join(
        f"print(repr(s.{name}))" for name in names
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_check_deploy_is_clean_in_production(tmp_path) -> None:
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_notices_each_setting_turned_off(tmp_path) -> None:
    """For contrast: the clean check above is not clean by accident."""
    turned_off = {
        "SECURE_SSL_REDIRECT": ("0", "security.W008"),
        "SESSION_COOKIE_SECURE": ("0", "security.W012"),
        "CSRF_COOKIE_SECURE": ("0", "security.W016"),
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": ("0", "security.W005"),
        "SECURE_HSTS_PRELOAD": ("0", "security.W021"),
        "SECRET_KEY": ("short", "security.W009"),
    }
    env = _production_env(tmp_path, **{name: value for name, (value, _) in turned_off.items()})
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for _, warning in turned_off.values():
        assert warning in result.stdout + result.stderr
    env = _production_env(tmp_path, SECURE_HSTS_SECONDS="0")
    assert "security.W004" in _manage(env, "check", "--deploy").stderr


def test_debug_is_off_unless_asked_for(tmp_path) -> None:
    env = _production_env(tmp_path)
    del env["DJANGO_DEBUG"]
    assert _settings(env, "DEBUG", "SESSION_COOKIE_SECURE", "SECURE_SSL_REDIRECT") == [
        "False",
        "True",
        "True",
    ]


def test_debug_off_needs_a_secret_key_and_recipient(tmp_path) -> None:
    for missing in ("SECRET_KEY", "NEAR_AUTH_RECIPIENT"):
        env = _production_env(tmp_path)
        del env[missing]
        result = _manage(env, "check")
        assert result.returncode != 0
        assert missing in result.stderr


def test_production_settings_come_from_the_environment(tmp_path) -> None:
    env = _production_env(
        tmp_path,
        ALLOWED_HOSTS=f"{HOST}, api.{HOST}",
        CSRF_TRUSTED_ORIGINS=f"https://{HOST},https://api.{HOST}",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
        SECURE_REFERRER_POLICY="no-referrer",
    )
    assert _settings(
        env,
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
    ) == [
        repr([HOST, f"api.{HOST}"]),
        repr([f"https://{HOST}", f"https://api.{HOST}"]),
        "3600",
        "False",
        repr(("HTTP_X_FORWARDED_PROTO", "https")),
        "'no-referrer'",
    ]


def test_development_needs_only_debug_on(tmp_path) -> None:
    env = _production_env(tmp_path, DJANGO_DEBUG="1")
    for name in ("SECRET_KEY", "NEAR_AUTH_RECIPIENT", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS"):
        del env[name]
    assert _settings(env, "DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE") == [
        "True",
        "False",
        "False",
    ]
