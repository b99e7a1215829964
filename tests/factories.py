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
