"""Reads of the labeling app, with who-may-see-what enforced here."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from config.errors import NotFoundError
from config.users import User
from labeling.models import Assignment, Item, Project, Submission
from payouts.money import yocto_to_near
from payouts.selectors import escrow_balance


def project_get_owned(*, user: User, public_id: Any) -> Project:
    """The user's own project, or 404 (a stranger's project is as unknown as none)."""
    project = Project.objects.filter(public_id=public_id, owner=user).first()
    if project is None:
        raise NotFoundError("No such project.", code="project_not_found")
    return project


def project_get_visible(*, user: User, public_id: Any) -> Project:
    """A project the user may work on (active) or owns, or 404."""
    project = (
        Project.objects.filter(public_id=public_id)
        .filter(Q(owner=user) | Q(status=Project.Status.ACTIVE))
        .first()
    )
    if project is None:
        raise NotFoundError("No such project.", code="project_not_found")
    return project


@dataclass(frozen=True)
class Funding:
    items: int
    slots_unpaid: int  # answer slots still to be decided (not yet accepted or rejected)
    cost_per_answer: int  # yoctoNEAR: reward + fee
    escrow: int  # yoctoNEAR
    required: int  # yoctoNEAR the escrow must hold for every unpaid slot

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.escrow)

    def as_api(self) -> dict[str, str | int]:
        return {
            "items": self.items,
            "escrow": yocto_to_near(self.escrow),
            "required": yocto_to_near(self.required),
            "shortfall": yocto_to_near(self.shortfall),
        }


def project_funding(*, project: Project, extra_items: int = 0) -> Funding:
    items = Item.objects.filter(project=project).count() + extra_items
    decided = Submission.objects.filter(
        assignment__project=project,
        status__in=[Submission.Status.ACCEPTED, Submission.Status.REJECTED],
    ).count()
    slots = items * project.answers_per_item - decided
    return Funding(
        items=items,
        slots_unpaid=slots,
        cost_per_answer=project.cost_per_answer,
        escrow=escrow_balance(reference=project.escrow_reference),
        required=slots * project.cost_per_answer,
    )


def project_progress(*, project: Project) -> dict[str, int]:
    items = Item.objects.filter(project=project).aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status=Item.Status.OPEN)),
        complete=Count("pk", filter=Q(status=Item.Status.COMPLETE)),
        resolved=Count("pk", filter=Q(status=Item.Status.RESOLVED)),
    )
    submissions = Submission.objects.filter(assignment__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(status=Submission.Status.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=Submission.Status.REJECTED)),
        pending=Count("pk", filter=Q(status=Submission.Status.PENDING)),
    )
    reserved = Assignment.objects.filter(project=project, status=Assignment.Status.RESERVED).count()
    return {
        "items_total": items["total"],
        "items_open": items["open"],
        "items_complete": items["complete"],
        "items_resolved": items["resolved"],
        "answers_wanted": items["total"] * project.answers_per_item,
        "answers_submitted": submissions["total"],
        "answers_accepted": submissions["accepted"],
        "answers_rejected": submissions["rejected"],
        "answers_pending": submissions["pending"],
        "reservations_held": reserved,
    }
