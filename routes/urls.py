from django.urls import path

from routes.views import api, docs, runs, sets

urlpatterns = [
    # The seed's JSON API
    path("optimize", api.optimize_chain, name="optimize"),
    path("<slug:slot>/optimize", api.optimize_slot, name="optimize-slot"),
    path("api/runs", api.run_list, name="api-runs"),
    path("api/runs/<int:run_id>", api.run_detail, name="api-run"),
    path("openapi.json", docs.openapi_json, name="openapi"),
    path("docs", docs.swagger_ui, name="docs"),
    # Pages
    path("", sets.home, name="home"),
    path("sets/", sets.set_list, name="sets"),
    path("sets/samples/<slug:key>", sets.sample_create, name="sample-create"),
    path("sets/<int:pk>/", sets.set_detail, name="set"),
    path("sets/<int:pk>/rename", sets.set_rename, name="set-rename"),
    path("sets/<int:pk>/duplicate", sets.set_duplicate, name="set-duplicate"),
    path("sets/<int:pk>/delete", sets.set_delete, name="set-delete"),
    path("sets/<int:pk>/constraints", sets.constraints_update, name="set-constraints"),
    path("sets/<int:pk>/import", sets.set_import, name="set-import"),
    path("sets/<int:pk>/export.<str:fmt>", sets.set_export, name="set-export"),
    path("sets/<int:pk>/locations/add", sets.location_add, name="location-add"),
    path("sets/<int:pk>/locations/<int:location_pk>/", sets.location_row, name="location"),
    path(
        "sets/<int:pk>/locations/<int:location_pk>/edit", sets.location_edit, name="location-edit"
    ),
    path(
        "sets/<int:pk>/locations/<int:location_pk>/delete",
        sets.location_delete,
        name="location-delete",
    ),
    path("sets/<int:pk>/optimize", runs.set_optimize, name="set-optimize"),
    path("runs/", runs.run_list, name="runs"),
    path("runs/<int:pk>/", runs.run_detail, name="run"),
    path("runs/<int:pk>/cancel", runs.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/export.<str:fmt>", runs.run_export, name="run-export"),
]
