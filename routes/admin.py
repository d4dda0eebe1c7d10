from django.contrib import admin

from routes.models import Location, LocationSet, RouteRun, Worker


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0
    fields = Location.FIELDS


@admin.register(LocationSet)
class LocationSetAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "owner", "updated_at")
    list_filter = ("owner",)
    search_fields = ("name", "owner__username")
    inlines = [LocationInline]


@admin.register(RouteRun)
class RouteRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "created_at",
        "owner",
        "set_name",
        "status",
        "requested_model",
        "model_used",
        "location_count",
        "total_distance_km",
    )
    list_filter = ("status", "model_used", "created_at")
    search_fields = ("set_name", "owner__username", "error")
    list_select_related = ("owner",)
    readonly_fields = [f.name for f in RouteRun._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="page")
    def view_on_site(self, run):
        from django.urls import reverse

        return reverse("run", args=[run.pk])


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("name", "started_at", "seen_at")
    readonly_fields = ("name", "started_at", "seen_at")
