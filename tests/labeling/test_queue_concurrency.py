"""Twenty contributors racing for items over HTTP: never over-served, never twice.

Runs on whichever database the suite runs on (PostgreSQL with SKIP LOCKED, SQLite
with IMMEDIATE transactions); `make test` runs it on both.
"""

import threading
from collections import Counter

import pytest
import requests
from rest_framework.authtoken.models import Token

from labeling.models import Assignment, Item
from tests.factories import UserFactory, project_with_items

CLIENTS = 20
ITEMS = 30
OVERLAP = 3


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_clients_never_over_serve(live_server) -> None:
    project = project_with_items(items=ITEMS, answers_per_item=OVERLAP)
    tokens = [Token.objects.create(user=UserFactory()).key for _ in range(CLIENTS)]
    errors: list[str] = []
    answered: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def contributor(token: str) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        start.wait()
        for _ in range(ITEMS + 5):
            response = session.get(
                f"{live_server.url}/api/projects/{project.public_id}/next", timeout=60
            )
            if response.status_code == 204:
                return
            if response.status_code != 200:
                errors.append(f"next {response.status_code} {response.text[:200]}")
                return
            assignment = response.json()
            submit = session.post(
                f"{live_server.url}/api/assignments/{assignment['id']}/submit",
                json={"answer": {"label": "cat"}},
                timeout=60,
            )
            if submit.status_code != 201:
                errors.append(f"submit {submit.status_code} {submit.text[:200]}")
                return
            with lock:
                answered.append((token, assignment["item"]["id"]))

    threads = [threading.Thread(target=contributor, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert len(answered) == ITEMS * OVERLAP
    assert len(set(answered)) == len(answered), "a contributor answered an item twice"
    per_item = Counter(item for _, item in answered)
    assert set(per_item.values()) == {OVERLAP}
    live = Counter(
        Assignment.objects.filter(status__in=["reserved", "submitted"]).values_list(
            "item_id", flat=True
        )
    )
    assert max(live.values()) == OVERLAP
    assert Item.objects.filter(project=project).exclude(status=Item.Status.OPEN).count() == ITEMS
