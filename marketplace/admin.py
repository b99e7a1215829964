from django.contrib import admin

from marketplace.models import Item, Project


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
