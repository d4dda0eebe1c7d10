from django.urls import path

from routes.views import api, docs

urlpatterns = [
    path("optimize", api.optimize_chain, name="optimize"),
    path("<slug:slot>/optimize", api.optimize_slot, name="optimize-slot"),
    path("api/runs", api.run_list, name="api-runs"),
    path("api/runs/<int:run_id>", api.run_detail, name="api-run"),
    path("openapi.json", docs.openapi_json, name="openapi"),
    path("docs", docs.swagger_ui, name="docs"),
]
