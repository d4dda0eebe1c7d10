from django.urls import path

from llm import views

urlpatterns = [
    path("api/models", views.model_list, name="api-models"),
]
