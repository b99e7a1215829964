"""Contributors see their royalties apart from task pay: on /me/, on /api/me/ and in
the marketplace's royalty figures."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.selectors import royalties_of_user
from marketplace.services.purchases import purchase_create
from payouts.money import near_to_yocto
from tests.conftest import api_client_for
from tests.factories import ProjectFactory, UserFactory, dataset_version_ready, earnings_give

pytestmark = pytest.mark.django_db


@pytest.fixture
def contributor():
    """Task pay of 1 NEAR, then royalties of two sales of two datasets."""
    ann = UserFactory(username="ann")
    earnings_give(ann, near_to_yocto("1"))  # task pay (an EARNING journal)
    buyer = UserFactory(username="buyer")
    earnings_give(buyer, near_to_yocto("20"))
    for title, price in (("Birds", "2"), ("Cats", "5")):
        project = ProjectFactory(title=title, status="completed")
        version = dataset_version_ready(
            project=project, price=near_to_yocto(price), royalty_bps=1000, shares={ann: 1}
        )
        purchase_create(user=buyer, version=version, method="balance")
    return ann


def test_api_me_shows_royalties_apart_from_task_pay(contributor) -> None:
    me = api_client_for(contributor).get("/api/me/").json()
    assert me["earned"] == "1"
    assert me["balance"] == "1.7"
    royalties = me["royalties"]
    assert royalties["total"] == "0.7"
    assert royalties["count"] == 2
    assert [(r["dataset"], r["amount"]) for r in royalties["recent"]] == [
        ("Cats v1", "0.5"),
        ("Birds v1", "0.2"),
    ]


def test_api_me_without_royalties(db) -> None:
    me = api_client_for(UserFactory()).get("/api/me/").json()
    assert me["royalties"] == {"total": "0", "count": 0, "recent": []}


def test_the_earnings_page_shows_royalties_apart_from_task_pay(client, contributor) -> None:
    client.force_login(contributor)
    page = client.get("/me/").content.decode()
    assert "<dd data-earned>1 NEAR</dd>" in page
    assert "<dd data-royalties>0.7 NEAR</dd>" in page
    assert "from 2 dataset sales" in page
    assert page.count("<tr data-royalty>") == 2
    assert "Cats v1" in page


def test_the_earnings_page_without_royalties_has_no_list(client, db) -> None:
    client.force_login(UserFactory())
    page = client.get("/me/").content.decode()
    assert "<dd data-royalties>0 NEAR</dd>" in page
    assert "data-royalty>" not in page


def test_royalty_figures_with_the_dataset_in_constant_queries(contributor) -> None:
    with CaptureQueriesContext(connection) as queries:
        royalties = royalties_of_user(user=contributor)
    assert len(queries) == 3  # sum, lines, their purchases (with versions and datasets)
    assert royalties.total == near_to_yocto("0.7")
    assert royalties.count == 2
    assert [(r.dataset_title, r.version, r.amount) for r in royalties.recent] == [
        ("Cats", 1, near_to_yocto("0.5")),
        ("Birds", 1, near_to_yocto("0.2")),
    ]
    assert all(r.dataset_id is not None and r.purchase_id is not None for r in royalties.recent)
    nobody = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        assert royalties_of_user(user=nobody).recent == []
    assert len(queries) == 1  # the sum
