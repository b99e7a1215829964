"""Exports and dataset builds sign their manifests with the platform's key: every test
here has one (a key file of its own; the `chain` fixture, where a test asks for it,
puts its own platform key in place instead, registered on its chain)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from payouts.near.keys import key_generate, key_save
from tests.conftest import PLATFORM_ACCOUNT


@pytest.fixture(autouse=True)
def _platform_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from payouts.services import chain as chain_services

    directory = tmp_path_factory.mktemp("platform-key")
    key_file = directory / "platform.json"
    key_save(key_generate(account_id=PLATFORM_ACCOUNT), key_file)
    chain_services._key_from_file.cache_clear()
    with override_settings(
        NEAR_ACCOUNT_ID=PLATFORM_ACCOUNT,
        NEAR_PRIVATE_KEY_FILE=str(key_file),
        NEAR_KEYS_DIR=str(directory / "keys"),
    ):
        yield key_file
    chain_services._key_from_file.cache_clear()
