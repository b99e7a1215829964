"""`manage.py seed_demo` (what `make run` shows): there is always demo work to do."""

import io

import pytest
from django.core.management import call_command

from labeling.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_completed_demo_project_is_followed_by_a_fresh_funded_one(chain) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    mine = Project.objects.filter(owner__username="demo-requester")
    first = mine.get()
    assert first.status == Project.Status.ACTIVE
    call_command("seed_demo", stdout=io.StringIO())
    assert mine.count() == 1  # still work in it: nothing new
    mine.update(status=Project.Status.COMPLETED)
    call_command("seed_demo", stdout=io.StringIO())
    fresh = mine.exclude(pk=first.pk).get()
    assert fresh.status == Project.Status.ACTIVE
    assert fresh.title == "Review sentiment (2)"


def test_the_demo_has_a_dataset_on_sale_with_royalties_to_pay(chain) -> None:
    """A seller's project, labelled to the end by the demo contributors, is on sale: the
    catalogue has something to buy, whose royalties go to those contributors."""
    from marketplace.models import Dataset, DatasetVersion

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    dataset = Dataset.objects.get(owner__username="demo-seller")
    assert dataset.project.status == Project.Status.COMPLETED
    version = dataset.versions.get()
    assert version.status == DatasetVersion.Status.READY, version.error_message
    assert {f.format for f in version.files.all()} == {"jsonl", "csv", "parquet"}
    shares = {s.contributor.username for s in version.royalty_shares.all()}
    assert shares == {f"demo-contributor-{n}" for n in (1, 2, 3)}
    assert "demo-seller" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())  # once only
    assert DatasetVersion.objects.count() == 1
