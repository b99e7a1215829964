"""`manage.py seed_demo` (what `make run` shows): there is always demo work to do."""

import io

import pytest
from django.core.management import call_command

from labeling.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_completed_demo_project_is_followed_by_a_fresh_funded_one(chain) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    first = Project.objects.get()
    assert first.status == Project.Status.ACTIVE
    call_command("seed_demo", stdout=io.StringIO())
    assert Project.objects.count() == 1  # still work in it: nothing new
    Project.objects.update(status=Project.Status.COMPLETED)
    call_command("seed_demo", stdout=io.StringIO())
    fresh = Project.objects.exclude(pk=first.pk).get()
    assert fresh.status == Project.Status.ACTIVE
    assert fresh.title == "Review sentiment (2)"
