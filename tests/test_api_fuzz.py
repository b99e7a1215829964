"""A bounded schemathesis run over every operation of the API, as a requester and as a
contributor: no 5xx, and every answer as the OpenAPI schema says (status, content type,
headers, body), schema-invalid requests refused, schema-valid ones never refused as
malformed (tests/schemathesis_hooks.py).

It runs the real server (pytest-django's live server) with real data behind the ids the
fuzzer is pointed at (a funded active project, a draft, a reservation, a proven NEAR
account with earnings) and the local NEAR RPC. `API_FUZZ_SECONDS` sets each role's time
budget (default 55 s); `API_FUZZ_SEED` its seed.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from labeling.models import Project
from labeling.services.queue import assignment_claim_next
from payouts.money import near_to_yocto
from payouts.near.keys import key_generate
from tests.conftest import near_account_prove
from tests.factories import ItemFactory, UserFactory, earnings_give, project_with_items

# One role after the other, as `make test` runs it (`--dist loadfile`: a file's tests in
# one xdist worker): schemathesis keeps what it learnt in .schemathesis/ and replays it.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
SECONDS = os.environ.get("API_FUZZ_SECONDS", "55")
SEED = os.environ.get("API_FUZZ_SEED", "413")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "schema_valid_requests_are_not_refused_as_malformed",
    ]
)


def _world(chain) -> dict[str, object]:
    """Data for the fuzzer to find: the ids it is pointed at exist."""
    requester = UserFactory()
    wallet = chain.account_create(amount_near="50")
    near_account_prove(requester, wallet)
    active = project_with_items(items=8, owner=requester)
    draft = project_with_items(items=2, owner=requester, status=Project.Status.DRAFT, fund=False)
    ItemFactory(project=draft)
    contributor = UserFactory()
    near_account_prove(contributor, key_generate())
    earnings_give(contributor, near_to_yocto("3"))
    reservation = assignment_claim_next(project=active, contributor=contributor)
    assert reservation is not None
    return {
        "requester": Token.objects.create(user=requester).key,
        "contributor": Token.objects.create(user=contributor).key,
        "projects": [str(active.public_id), str(draft.public_id)],
        "assignments": [str(reservation.public_id)],
    }


def _config(path: Path, world: dict[str, object]) -> Path:
    def values(items: object) -> str:
        assert isinstance(items, list)
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    path.write_text(
        f"""
[dictionaries.projects]
values = {values(world["projects"])}

[dictionaries.assignments]
values = {values(world["assignments"])}

[parameters]
"path.project_id" = {{ dictionary = "projects", probability = 0.8 }}
"path.assignment_id" = {{ dictionary = "assignments", probability = 0.8 }}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("role", ["requester", "contributor"])
def test_the_api_keeps_to_its_schema_under_fuzzing(
    live_server, chain, settings, tmp_path, role
) -> None:
    # The fuzzer would otherwise spend its time being told to slow down.
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES)
    world = _world(chain)
    config = _config(tmp_path / "schemathesis.toml", world)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/schema/",
        "--url",
        live_server.url,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Token {world[role]}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        SECONDS,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--generation-allow-x00",
        "false",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--output-truncate",
        "false",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"}
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = completed.stdout + completed.stderr
    print(output[-6000:])  # the run's summary, for the record
    assert completed.returncode == 0, output[-20000:]
