from django.contrib import admin
from django.http import HttpRequest

from labeling.models import (
    Assignment,
    AssignmentEvent,
    ContributorQuality,
    Item,
    Project,
    ProjectQuality,
    Submission,
)


class AssignmentEventInline(admin.TabularInline):
    model = AssignmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "created_at"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["public_id", "project", "item", "contributor", "status", "expires_at"]
    list_filter = ["status"]
    raw_id_fields = ["project", "item", "contributor"]
    inlines = [AssignmentEventInline]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["public_id", "assignment", "status", "score", "created_at"]
    list_filter = ["status"]
    raw_id_fields = ["assignment"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "task_type", "status", "answers_per_item", "created_at"]
    list_filter = ["status", "task_type"]
    search_fields = ["title", "public_id"]
    raw_id_fields = ["owner"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["public_id", "project", "external_id", "status", "confidence"]
    list_filter = ["status"]
    raw_id_fields = ["project"]


@admin.register(ProjectQuality)
class ProjectQualityAdmin(admin.ModelAdmin):
    """The engine's state: written by refits only, read here."""

    list_display = ["project", "fit_version", "fitted_at", "answers_fitted", "prior_used"]
    raw_id_fields = ["project"]
    readonly_fields = [field.name for field in ProjectQuality._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ContributorQuality)
class ContributorQualityAdmin(admin.ModelAdmin):
    list_display = ["contributor", "project", "answers", "reputation", "paused_at"]
    list_filter = ["one_coin"]
    raw_id_fields = ["project", "contributor"]
    readonly_fields = [
        f.name
        for f in ContributorQuality._meta.fields
        if f.name not in ("paused_at", "pause_reason")
    ]
