"""Hostile input on the dataset endpoints: every refusal is a 4xx JSON envelope with a
code, never a 500, and nothing is written (tests/test_hostile_input.py covers hostile
JSON bodies on the purchase endpoint)."""

import pytest
from rest_framework.test import APIClient

from marketplace.models import Purchase
from payouts.models import Deposit, JournalLine
from payouts.money import near_to_yocto
from tests.conftest import api_client_for
from tests.factories import UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    version = dataset_version_ready(price=near_to_yocto("1"))
    buyer = UserFactory(username="buyer")
    earnings_give(buyer, near_to_yocto("5"))
    return version, buyer


def _nothing_written(before_lines: int) -> None:
    assert not Purchase.objects.exists()
    assert not Deposit.objects.exists()
    assert JournalLine.objects.count() == before_lines


def _refused(response, status: int | tuple[int, ...], code: str | None = None) -> dict:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    return error


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"task_type": "\x00"}, "task_type"),
        ({"licence": "MIT"}, "licence"),
        ({"min_items": "1e309"}, "min_items"),
        ({"min_items": "-1"}, "min_items"),
        ({"max_items": "9" * 5000}, "max_items"),
        ({"max_items": "3.5"}, "max_items"),
        ({"max_price": "1e309"}, "max_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"max_price": "NaN"}, "max_price"),
        ({"max_price": "0.0000000000000000000000001"}, "max_price"),  # 25 decimals
        ({"max_price": "9" * 400}, "max_price"),
        ({"ordering": "title; DROP TABLE"}, "ordering"),
    ],
)
def test_bad_catalogue_parameters_are_400(world, params, field) -> None:
    error = _refused(APIClient().get("/api/datasets/", params), 400, "invalid")
    assert field in error["details"]


@pytest.mark.parametrize(
    "raw", ["q=%ED%A0%80", "q=%FF%FE", "task_type=%ED%A0%80", "q=%F0%9F%90%88"]
)
def test_undecodable_query_bytes_are_harmless(world, raw) -> None:
    """Bytes that are not UTF-8 (a surrogate's encoding among them) decode to U+FFFD:
    an ordinary search that finds nothing, never a 500."""
    response = APIClient().get("/api/datasets/?" + raw)
    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("page", ["0", "-1", "1e309", "abc", "\x00", "9" * 5000, "\uff11"])
@pytest.mark.parametrize("name", ["page", "page_size"])
def test_bad_pages_are_400(world, page, name) -> None:
    error = _refused(APIClient().get("/api/datasets/", {name: page}), 400, "invalid")
    assert name in error["details"]


def test_a_page_past_the_end_is_404(world) -> None:
    _refused(APIClient().get("/api/datasets/", {"page": "2"}), 404, "not_found")
    assert APIClient().get("/api/datasets/", {"page_size": "101"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/datasets/not-a-uuid/",
        "/api/datasets/00000000-0000-0000-0000-000000000000/",
        "/api/datasets/{id}/versions/0/",
        "/api/datasets/{id}/versions/99999999999999999999999/",
        "/api/datasets/{id}/versions/-1/",
        "/api/datasets/{id}/versions/1e3/",
        "/api/datasets/{id}/versions/1/files/%00",
        "/api/datasets/{id}/versions/1/files/" + "x" * 5000,
        "/api/datasets/{id}/versions/1/files/..%2F..%2Fetc%2Fpasswd",
        "/api/datasets/{id}/versions/2/manifest",
        "/api/purchases/not-a-uuid/",
        "/api/purchases/00000000-0000-0000-0000-000000000000/",
    ],
)
def test_bad_ids_are_404(world, path) -> None:
    version, _ = world
    url = path.replace("{id}", str(version.dataset.public_id))
    _refused(api_client_for(version.dataset.owner).get(url), 404)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"method": "card"}, "purchase_method_invalid"),
        ({"method": ""}, "invalid"),
        ({"method": 1}, "invalid"),
        ({"method": ["balance"]}, "invalid"),
        ({"method": {"balance": True}}, "invalid"),
        ({"method": None}, "invalid"),
        ({}, "invalid"),
        ({"method": "balance", "extra": 1}, "invalid"),
        ({"method": "balance" * 1000}, "invalid"),
        ({"method": "balance", "tx_hash": "4" * 44}, "purchase_method_invalid"),
        ({"method": "deposit"}, "deposit_hash_invalid"),
        ({"method": "deposit", "tx_hash": 12345}, "invalid"),
        ({"method": "deposit", "tx_hash": "x" * 5000}, "invalid"),
        ({"method": "deposit", "tx_hash": "0OIl" * 11}, "deposit_hash_invalid"),
        (
            {"method": "deposit", "tx_hash": "4" * 44, "sender_account_id": "A B"},
            "deposit_sender_invalid",
        ),
        ([{"method": "balance"}], "invalid"),
        ("balance", "invalid"),
    ],
)
def test_bad_purchase_bodies_are_400_and_write_nothing(world, body, code) -> None:
    version, buyer = world
    before = JournalLine.objects.count()
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/purchases"
    response = api_client_for(buyer).post(url, body, format="json")
    _refused(response, 400, code)
    _nothing_written(before)


@pytest.mark.parametrize("key", ["", " ", "k" * 256, "clé", "a b", "a\tb", '""', "\x7f"])
def test_bad_idempotency_keys_are_400_and_write_nothing(world, key) -> None:
    version, buyer = world
    before = JournalLine.objects.count()
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/purchases"
    response = api_client_for(buyer).post(
        url, {"method": "balance"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    _refused(response, 400, "idempotency_key_invalid")
    _nothing_written(before)


def test_anonymous_purchases_are_refused(world) -> None:
    version, _ = world
    before = JournalLine.objects.count()
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/purchases"
    _refused(APIClient().post(url, {"method": "balance"}, format="json"), (401, 403))
    _nothing_written(before)


def test_a_hostile_query_on_a_purchase_does_not_matter(world) -> None:
    """Query parameters the purchase does not read change nothing (and break nothing)."""
    version, buyer = world
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/purchases?q=%00&page=1e309"
    response = api_client_for(buyer).post(url, {"method": "balance"}, format="json")
    assert response.status_code == 201
