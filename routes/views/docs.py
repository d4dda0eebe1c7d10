from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from llm.models import ModelSlot
from routes.openapi import openapi_document


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    slots = list(ModelSlot.objects.values_list("name", flat=True))
    document = openapi_document(slots, settings.T2_MAX_LOCATIONS)
    return JsonResponse(document, json_dumps_params={"ensure_ascii": False})


@require_GET
def swagger_ui(request: HttpRequest) -> HttpResponse:
    return render(request, "docs.html")
