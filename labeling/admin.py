from django.contrib import admin

from labeling.models import Assignment, AssignmentEvent, Item, Project, Submission


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
    list_display = ["public_id", "assignment", "status", "created_at"]
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
