import factory
from django.contrib.auth import get_user_model

from labeling.models import Item, Project
from payouts.models import Journal
from payouts.money import near_to_yocto
from payouts.services.ledger import escrow_account, journal_post, world_account


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Project {n}")
    task_type = "classification"
    label_config = factory.LazyFunction(lambda: {"labels": ["cat", "dog", "bird"]})
    reward_per_answer = near_to_yocto("0.05")
    platform_fee_bps = 1000
    answers_per_item = 3
    # A fixed overlap unless a test asks for dynamic overlap.
    min_answers_per_item = factory.SelfAttribute("answers_per_item")
    gold_rate = 0.0
    reservation_seconds = 600
    status = Project.Status.ACTIVE


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    project = factory.SubFactory(ProjectFactory)
    data = factory.Sequence(lambda n: {"text": f"item {n}"})


def escrow_fund(project: Project, *, amount: int | None = None, key: str = "") -> None:
    """Fund a project's escrow as a credited deposit would (for tests off the chain)."""
    if amount is None:
        amount = project.items.count() * project.answers_per_item * project.cost_per_answer
    journal_post(
        kind=Journal.Kind.DEPOSIT,
        idempotency_key=f"deposit:test:{project.public_id}:{key or amount}",
        lines=[
            (world_account(), -amount),
            (escrow_account(reference=project.escrow_reference), amount),
        ],
    )


def project_with_items(*, items: int = 5, fund: bool = True, **kwargs) -> Project:
    project = ProjectFactory(**kwargs)
    ItemFactory.create_batch(items, project=project)
    if fund:
        escrow_fund(project)
    return project


def earnings_give(user, amount: int) -> None:
    """Credit `amount` yoctoNEAR of earnings to the user, from a freshly funded escrow."""
    from payouts.services.earnings import earning_credit

    project = ProjectFactory()
    escrow_fund(project, amount=amount, key=f"earn-{user.pk}-{amount}")
    earning_credit(
        reference=f"test:{user.pk}:{amount}",
        user_id=user.pk,
        escrow_reference=project.escrow_reference,
        reward=amount,
        fee=0,
    )


def dataset_version_ready(
    *,
    project: Project | None = None,
    price: int | None = None,
    royalty_bps: int = 2000,
    shares: dict | None = None,
    fee_bps: int | None = None,
    title: str | None = None,
    summary: str = "",
    licence: str = "CC-BY-4.0",
    items: int = 3,
    number: int | None = None,
    **version_fields,
):
    """A READY dataset version of `project` (a new completed one by default) with small
    real files in the store (jsonl, csv, parquet bytes: what matters here is that they
    are served byte for byte), a manifest document, and RoyaltyShare rows from `shares`
    ({contributor: accepted answers}). What dataset_publish and its build would leave
    (marketplace.services.datasets, the lead's), without running them."""
    import hashlib
    import json

    from django.conf import settings
    from django.utils import timezone

    from marketplace.models import Dataset, DatasetFile, DatasetVersion, RoyaltyShare
    from marketplace.storage import store_writer

    if project is None:
        project = ProjectFactory(status=Project.Status.COMPLETED)
    dataset = Dataset.objects.filter(project=project).first() or Dataset.objects.create(
        owner=project.owner,
        project=project,
        title=title or project.title,
        summary=summary,
        task_type=project.task_type,
    )
    if number is None:
        number = (
            dataset.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
    shares = shares or {}
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=number,
        status=DatasetVersion.Status.READY,
        licence=licence,
        price=near_to_yocto("2") if price is None else price,
        fee_bps=settings.DATASET_FEE_BPS if fee_bps is None else fee_bps,
        royalty_bps=royalty_bps,
        motivation="Why it was made.",
        composition="What it holds.",
        collection_process="How it was labelled.",
        statistics={"labels": {"cat": 2, "dog": 1}},
        samples=[{"data": {"text": "a sample"}, "final_answer": {"label": "cat"}}],
        items_count=items,
        answers_count=items * 3,
        contributors_count=len(shares),
        ready_at=timezone.now(),
        **version_fields,
    )
    for fmt in ("jsonl", "csv", "parquet"):
        with store_writer(suffix=fmt) as (out, result):
            out.write(f"{dataset.public_id} v{number} {fmt}\n".encode() * 64)
        stored = result[0]
        DatasetFile.objects.create(
            version=version,
            format=fmt,
            file_name=stored.file_name,
            sha256=stored.sha256,
            size=stored.size,
        )
    manifest = json.dumps({"schema": "nearlabel-manifest/1", "manifest": {"version": number}})
    version.manifest = manifest
    version.manifest_sha256 = hashlib.sha256(manifest.encode()).hexdigest()
    version.save(update_fields=["manifest", "manifest_sha256"])
    RoyaltyShare.objects.bulk_create(
        RoyaltyShare(version=version, contributor=user, accepted_answers=n)
        for user, n in shares.items()
    )
    return version
