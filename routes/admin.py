from django.contrib import admin

from routes.models import RouteRun


@admin.register(RouteRun)
class RouteRunAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "status", "requested_model", "model_used", "location_count")
    list_filter = ("status", "model_used")
    readonly_fields = [f.name for f in RouteRun._meta.fields]
