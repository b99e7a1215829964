"""Hostile input to the dataset pages (catalogue, dataset page, buying, the purchase
check, My datasets): NUL bytes, lone surrogates, huge and non-finite numbers, bad uuids
and page numbers, a missing CSRF token, GET on POST-only. Every answer is a 4xx or a
page with a coded message, never a 500, and nothing is written. Cheap: the rows are
made once per module, one signed-in client per endpoint."""

from urllib.parse import urlencode

import pytest
from django.test import Client

from marketplace.models import Purchase
from payouts.models import Deposit, Journal
from payouts.money import near_to_yocto
from tests.factories import UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db

VALUES = ["\x00", "\ud800", "x" * 100_000, "1e309", "-1", "99999999999999999999999", ""]
IDS = ["nul", "surrogate", "huge", "overflow", "minus-one", "big", "empty"]


@pytest.fixture
def world():
    buyer = UserFactory(username="buyer")
    earnings_give(buyer, near_to_yocto("10"))
    version = dataset_version_ready(price=near_to_yocto("2"))
    return {"buyer": buyer, "version": version}


def counts() -> tuple[int, int, int]:
    return (Purchase.objects.count(), Deposit.objects.count(), Journal.objects.count())


def query(params: list[str], value: str) -> str:
    return urlencode(dict.fromkeys(params, value), encoding="utf-8", errors="surrogatepass")


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_hostile_query_parameters_never_500(client, world, value) -> None:
    dataset = world["version"].dataset.public_id
    client.force_login(world["buyer"])
    filters = ["q", "task_type", "licence", "min_items", "max_items", "max_price", "ordering"]
    for url, params in (
        ("/datasets/", [*filters, "page"]),
        (f"/datasets/{dataset}/", ["version"]),
        ("/datasets/purchases/", ["page"]),
    ):
        response = client.get(f"{url}?{query(params, value)}")
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code >= 400 and url == "/datasets/":
            assert "[" in response.content.decode()  # the refusal's code


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_hostile_buy_forms_write_nothing(client, world, value) -> None:
    version = world["version"]
    client.force_login(world["buyer"])
    url = f"/datasets/{version.dataset.public_id}/versions/1/buy/"
    before = counts()
    fields = ["method", "tx_hash", "sender_account_id", "idempotency_key"]
    plausible = {"method": "deposit", "tx_hash": "x", "idempotency_key": "k"}
    for field in [None, *fields]:
        data = dict.fromkeys(fields, value) if field is None else {**plausible, field: value}
        body = urlencode(data, encoding="utf-8", errors="surrogatepass")
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500, (field, response.status_code)
    assert counts() == before


@pytest.mark.parametrize(
    "url",
    [
        "/datasets/{dataset}/versions/0/buy/",
        "/datasets/{dataset}/versions/99999999999999999999/buy/",
        "/datasets/{dataset}/versions/2/buy/",
        "/datasets/00000000-0000-0000-0000-000000000000/versions/1/buy/",
        "/datasets/purchases/00000000-0000-0000-0000-000000000000/check/",
        "/datasets/purchases/not-a-uuid/check/",
        "/datasets/not-a-uuid/versions/1/buy/",
    ],
)
def test_unknown_targets_are_404_and_write_nothing(client, world, url) -> None:
    client.force_login(world["buyer"])
    before = counts()
    url = url.format(dataset=world["version"].dataset.public_id)
    response = client.post(url, {"method": "balance", "idempotency_key": "k"})
    assert response.status_code == 404
    assert counts() == before


def test_a_post_without_csrf_is_403_and_get_on_post_only_is_405(world) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["buyer"])
    url = f"/datasets/{world['version'].dataset.public_id}/versions/1/buy/"
    before = counts()
    assert client.post(url, {"method": "balance", "idempotency_key": "k"}).status_code == 403
    assert client.get(url).status_code == 405
    assert (
        client.get("/datasets/purchases/00000000-0000-0000-0000-000000000000/check/").status_code
        == 405
    )
    assert counts() == before
