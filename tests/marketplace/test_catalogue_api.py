"""The dataset catalogue, a dataset's page and its versions over the API, and the
downloads only the owner and buyers get."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketplace import selectors
from marketplace.models import DatasetVersion, Purchase
from marketplace.services.purchases import purchase_create
from marketplace.storage import store_path
from payouts.money import near_to_yocto
from tests.conftest import api_client_for
from tests.factories import ProjectFactory, UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def _dataset(title: str, *, price: str = "2", items: int = 3, **kwargs) -> DatasetVersion:
    project = ProjectFactory(
        title=title, status="completed", task_type=kwargs.pop("task_type", "classification")
    )
    return dataset_version_ready(project=project, price=near_to_yocto(price), items=items, **kwargs)


@pytest.fixture
def shelf():
    return {
        "birds": _dataset("Birds of Europe", price="9", items=500, summary="Photos, labelled."),
        "cats": _dataset("Cat faces", price="1", items=50, licence="CC0-1.0"),
        "ner": _dataset("Named entities", price="10.5", items=5000, task_type="ner"),
    }


def test_the_catalogue_lists_listed_datasets_with_a_version_on_sale(shelf) -> None:
    hidden = _dataset("Unlisted")
    hidden.dataset.is_listed = False
    hidden.dataset.save()
    withdrawn = _dataset("Withdrawn")
    DatasetVersion.objects.filter(pk=withdrawn.pk).update(is_on_sale=False)
    building = _dataset("Building")
    DatasetVersion.objects.filter(pk=building.pk).update(status="building")
    response = APIClient().get("/api/datasets/")  # anyone may browse
    body = response.json()
    assert body["count"] == 3
    assert set(_ids(response)) == {str(v.dataset.public_id) for v in shelf.values()}
    row = next(r for r in body["results"] if r["title"] == "Cat faces")
    latest = row["latest_version"]
    assert latest["number"] == 1
    assert (latest["price"], latest["fee"], latest["total_price"]) == ("1", "0.1", "1.1")
    assert latest["total_price_yocto"] == str(near_to_yocto("1.1"))
    assert latest["licence"] == "CC0-1.0"


def test_the_catalogue_shows_the_latest_version_on_sale(shelf) -> None:
    birds = shelf["birds"]
    v2 = dataset_version_ready(project=birds.dataset.project, price=near_to_yocto("3"), items=600)
    v3 = dataset_version_ready(project=birds.dataset.project, price=near_to_yocto("4"))
    DatasetVersion.objects.filter(pk=v3.pk).update(is_on_sale=False)
    rows = APIClient().get("/api/datasets/", {"q": "birds"}).json()["results"]
    assert [(r["latest_version"]["number"], r["latest_version"]["items_count"]) for r in rows] == [
        (v2.number, 600)
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "CAT"}, ["cats"]),
        ({"q": "labelled"}, ["birds"]),  # the summary
        ({"q": "100%_"}, []),  # LIKE wildcards are plain characters
        ({"task_type": "ner"}, ["ner"]),
        ({"licence": "CC0-1.0"}, ["cats"]),
        ({"min_items": "500"}, ["birds", "ner"]),
        ({"max_items": "500"}, ["birds", "cats"]),
        ({"min_items": "51", "max_items": "4999"}, ["birds"]),
        ({"max_price": "9.9"}, ["birds", "cats"]),  # 9 + 0.9 fee
        ({"max_price": "9.89"}, ["cats"]),
        ({"max_price": "1.1"}, ["cats"]),
        ({"max_price": "1.099999999999999999999999"}, []),
        ({"max_price": "0"}, []),
        ({"max_price": "999999999999999"}, ["birds", "cats", "ner"]),
    ],
)
def test_the_catalogue_filters(shelf, params, expected) -> None:
    got = _ids(APIClient().get("/api/datasets/", params))
    assert sorted(got) == sorted(str(shelf[name].dataset.public_id) for name in expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("newest", ["ner", "cats", "birds"]),
        ("price", ["cats", "birds", "ner"]),  # numerically: 1 < 9 < 10.5
        ("-price", ["ner", "birds", "cats"]),
        ("size", ["ner", "birds", "cats"]),
        ("-size", ["cats", "birds", "ner"]),
    ],
)
def test_the_catalogue_orders(shelf, ordering, expected) -> None:
    got = _ids(APIClient().get("/api/datasets/", {"ordering": ordering}))
    assert got == [str(shelf[name].dataset.public_id) for name in expected]


def test_the_catalogue_is_paginated_in_constant_queries(shelf) -> None:
    for n in range(5):
        _dataset(f"Extra {n}")
    client = APIClient()
    with CaptureQueriesContext(connection) as queries:
        first = client.get("/api/datasets/", {"page_size": 3, "max_price": "100"}).json()
    assert len(queries) <= 3  # fee rates, count, page
    assert first["count"] == 8
    assert len(first["results"]) == 3
    assert first["next"] is not None
    second = client.get("/api/datasets/", {"page_size": 3, "page": 3}).json()
    assert len(second["results"]) == 2
    assert client.get("/api/datasets/", {"page": 9}).status_code == 404  # past the end


def test_a_dataset_page_shows_its_versions_and_what_the_viewer_may_do(shelf) -> None:
    birds = shelf["birds"]
    v2 = dataset_version_ready(project=birds.dataset.project)
    building = dataset_version_ready(project=birds.dataset.project)
    DatasetVersion.objects.filter(pk=building.pk).update(status="building")
    url = f"/api/datasets/{birds.dataset.public_id}/"
    buyer = UserFactory()
    earnings_give(buyer, near_to_yocto("20"))
    purchase_create(user=buyer, version=birds, method="balance")

    api = api_client_for(buyer)
    with CaptureQueriesContext(connection) as queries:
        body = api.get(url).json()
    assert len(queries) == 5  # the token's user, dataset, versions, their files, purchases
    assert body["is_owner"] is False
    assert [v["number"] for v in body["versions"]] == [v2.number, birds.number]
    viewer = {v["number"]: v["viewer"] for v in body["versions"]}
    assert viewer[birds.number] == {"purchased": True, "may_download": True}
    assert viewer[v2.number] == {"purchased": False, "may_download": False}
    first = body["versions"][1]
    assert first["motivation"] == "Why it was made."
    assert first["samples"][0]["data"] == {"text": "a sample"}
    assert {f["format"] for f in first["files"]} == {"jsonl", "csv", "parquet"}

    owner_view = api_client_for(birds.dataset.owner).get(url).json()
    assert owner_view["is_owner"] is True
    assert len(owner_view["versions"]) == 3  # the owner sees the one building too
    assert all(
        v["viewer"]["may_download"] for v in owner_view["versions"] if v["status"] == "ready"
    )
    anonymous = APIClient().get(url).json()
    assert all(not v["viewer"]["may_download"] for v in anonymous["versions"])

    version = APIClient().get(f"/api/datasets/{birds.dataset.public_id}/versions/{v2.number}/")
    assert version.status_code == 200
    assert version.json()["number"] == v2.number
    missing = APIClient().get(
        f"/api/datasets/{birds.dataset.public_id}/versions/{building.number}/"
    )
    assert missing.json()["error"]["code"] == "dataset_version_not_found"


def test_an_unlisted_dataset_is_seen_by_its_owner_and_buyers_only(shelf) -> None:
    cats = shelf["cats"]
    buyer = UserFactory()
    earnings_give(buyer, near_to_yocto("5"))
    purchase_create(user=buyer, version=cats, method="balance")
    cats.dataset.is_listed = False
    cats.dataset.save()
    url = f"/api/datasets/{cats.dataset.public_id}/"
    assert APIClient().get(url).json()["error"]["code"] == "dataset_not_found"
    assert api_client_for(UserFactory()).get(url).status_code == 404
    assert api_client_for(buyer).get(url).status_code == 200
    assert api_client_for(cats.dataset.owner).get(url).status_code == 200
    # The buyer keeps their download.
    file_url = f"/api/datasets/{cats.dataset.public_id}/versions/1/files/csv"
    assert api_client_for(buyer).get(file_url).status_code == 200


# --- Downloads --------------------------------------------------------------------------


def _content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def sold():
    version = dataset_version_ready(price=near_to_yocto("2"))
    buyer = UserFactory(username="buyer")
    earnings_give(buyer, near_to_yocto("5"))
    purchase_create(user=buyer, version=version, method="balance")
    return version, buyer


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_the_owner_and_a_buyer_download_every_format(sold, fmt) -> None:
    version, buyer = sold
    stored = version.files.get(format=fmt)
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/files/{fmt}"
    for user in (buyer, version.dataset.owner):
        response = api_client_for(user).get(url)
        assert response.status_code == 200
        body = _content(response)
        assert body == store_path(stored.file_name).read_bytes()
        assert response["Content-Length"] == str(len(body))
        assert response["X-Content-SHA256"] == hashlib.sha256(body).hexdigest() == stored.sha256
        assert f'-v1.{fmt}"' in response["Content-Disposition"]
        assert response["Content-Disposition"].startswith("attachment")


def test_the_manifest_is_the_owner_and_buyers_too(sold) -> None:
    version, buyer = sold
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/manifest"
    response = api_client_for(buyer).get(url)
    assert response.status_code == 200
    assert response.content == version.manifest.encode()
    assert response["X-Content-SHA256"] == hashlib.sha256(response.content).hexdigest()
    assert api_client_for(version.dataset.owner).get(url).status_code == 200


@pytest.mark.parametrize("what", ["files/jsonl", "files/csv", "files/parquet", "manifest"])
def test_nobody_else_gets_a_byte(sold, what) -> None:
    version, _ = sold
    url = f"/api/datasets/{version.dataset.public_id}/versions/1/{what}"
    secret = (
        version.manifest.encode()
        if what == "manifest"
        else store_path(version.files.get(format=what.split("/")[1]).file_name).read_bytes()
    )
    stranger = UserFactory(username="stranger")
    other_requester = ProjectFactory().owner  # owns a project, not this dataset
    waiting = UserFactory(username="waiting")
    Purchase.objects.create(  # a purchase not completed gives nothing either
        version=version,
        buyer=waiting,
        method="deposit",
        status="failed",
        price=version.price,
        fee=version.fee,
        royalty=version.royalty,
    )
    for user in (stranger, other_requester, waiting):
        response = api_client_for(user).get(url)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "dataset_not_purchased"
        assert secret[:32] not in _content(response)
    anonymous = APIClient().get(url)
    assert anonymous.status_code in (401, 403)
    assert secret[:32] not in _content(anonymous)


def test_a_buyer_of_one_version_does_not_get_another(sold) -> None:
    version, buyer = sold
    v2 = dataset_version_ready(project=version.dataset.project)
    url = f"/api/datasets/{version.dataset.public_id}/versions/{v2.number}/files/jsonl"
    assert api_client_for(buyer).get(url).json()["error"]["code"] == "dataset_not_purchased"


def test_an_unknown_format_or_version_is_404(sold) -> None:
    version, buyer = sold
    api = api_client_for(buyer)
    base = f"/api/datasets/{version.dataset.public_id}/versions"
    assert api.get(f"{base}/1/files/xlsx").json()["error"]["code"] == "dataset_file_not_found"
    assert api.get(f"{base}/7/files/csv").json()["error"]["code"] == "dataset_version_not_found"
    assert api.get(f"{base}/99999999999999999999/files/csv").status_code == 404
    assert api.get(f"{base}/0/manifest").status_code == 404


def test_may_download_in_constant_queries(sold) -> None:
    version, buyer = sold
    version = DatasetVersion.objects.select_related("dataset__owner").get(pk=version.pk)
    with CaptureQueriesContext(connection) as queries:
        assert selectors.may_download(user=buyer, version=version)
        assert selectors.may_download(user=version.dataset.owner, version=version)
        assert not selectors.may_download(user=None, version=version)
    assert len(queries) == 1


# --- Purchases --------------------------------------------------------------------------


def test_my_purchases(sold) -> None:
    version, buyer = sold
    other = dataset_version_ready()
    earnings_give(buyer, near_to_yocto("5"))
    purchase_create(user=buyer, version=other, method="balance")
    api = api_client_for(buyer)
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/purchases/").json()
    assert len(queries) == 3  # token, count, page (with version, dataset and deposit)
    assert body["count"] == 2
    assert [row["dataset"]["id"] for row in body["results"]] == [
        str(other.dataset.public_id),
        str(version.dataset.public_id),
    ]
    purchase = Purchase.objects.filter(buyer=buyer).first()
    detail = api.get(f"/api/purchases/{purchase.public_id}/")
    assert detail.status_code == 200
    assert detail.json()["status"] == "completed"
    # Nobody else sees it.
    stranger = api_client_for(UserFactory())
    assert stranger.get(f"/api/purchases/{purchase.public_id}/").json()["error"]["code"] == (
        "purchase_not_found"
    )
    assert stranger.get("/api/purchases/").json()["count"] == 0
    assert APIClient().get("/api/purchases/").status_code in (401, 403)
