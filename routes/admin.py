from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from llm.models import Attempt
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


class AttemptInline(admin.TabularInline):
    """The run's attempts, one per link of the chain tried, in order."""

    model = Attempt
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("position", "slot", "status", "reason", "duration_ms", "load_ms", "tokens_per_second")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RouteRun)
class RouteRunAdmin(admin.ModelAdmin):
    """Runs are written by the optimizer: read-only here, with links to who and what."""

    list_display = (
        "id",
        "created_at",
        "owner_link",
        "set_link",
        "status",
        "requested_model",
        "model_used",
        "location_count",
        "total_distance_km",
        "duration_ms",
        "page_link",
    )
    list_filter = ("status", "model_used", "requested_model", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("=id", "set_name", "owner__username", "error", "fallback_reason")
    search_help_text = "Run number (exact), set name, owner's username, error or fallback reason."
    list_select_related = ("owner",)
    show_full_result_count = False
    readonly_fields = ("page_link", "owner_link", "set_link", "attempts_link") + tuple(
        f.name for f in RouteRun._meta.fields if f.name not in ("owner", "location_set")
    )
    exclude = ("owner", "location_set")
    inlines = [AttemptInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def view_on_site(self, run):
        return reverse("run", args=[run.pk])

    @admin.display(description="page")
    def page_link(self, run):
        return format_html('<a href="{}">{}</a>', reverse("run", args=[run.pk]), "open")

    @admin.display(description="owner", ordering="owner__username")
    def owner_link(self, run):
        if run.owner_id is None:
            return "anonymous (API)"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:auth_user_change", args=[run.owner_id]),
            run.owner.get_username(),
        )

    @admin.display(description="set", ordering="set_name")
    def set_link(self, run):
        if run.location_set_id is None:
            return run.set_name or "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:routes_locationset_change", args=[run.location_set_id]),
            run.set_name or f"set {run.location_set_id}",
        )

    @admin.display(description="attempts")
    def attempts_link(self, run):
        url = reverse("admin:llm_attempt_changelist") + f"?run__id__exact={run.pk}"
        return format_html('<a href="{}">{}</a>', url, "in the attempts list")


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    list_display = ("name", "started_at", "seen_at")
    readonly_fields = ("name", "started_at", "seen_at")
