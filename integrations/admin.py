from django.contrib import admin

from .models import AddOn


@admin.register(AddOn)
class AddOnAdmin(admin.ModelAdmin):
    list_display = ["key", "enabled", "changed_at"]
    list_editable = ["enabled"]
