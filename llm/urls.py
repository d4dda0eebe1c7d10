from django.urls import path

from llm import views

urlpatterns = [
    path("api/models", views.model_list, name="api-models"),
    path("models/", views.model_page, name="models"),
    path("models/<slug:name>/warm-up", views.slot_warm_up, name="slot-warm-up"),
    path("models/<slug:name>/unload", views.slot_unload, name="slot-unload"),
]
