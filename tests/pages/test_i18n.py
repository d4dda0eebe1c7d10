"""Pages in Russian by default, in English when the browser or the switch asks; the API always
in English."""

from __future__ import annotations

import importlib
import json

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from routes.messages import (
    ENGINE_FIXED,
    FIXED_MESSAGES,
    translate_engine_reason,
    translate_schema_message,
)
from routes.schema import RequestError, parse_request
from tests.factories import location

from .conftest import make_set

BAD_LAT_ROW = {
    "name": "Салон",
    "address": "ул. Советская, 35",
    "lat": "91",
    "lon": "45.1749",
    "time_window_start": "09:00",
    "time_window_end": "18:00",
    "priority": "A",
}
LAT_EN = "Input should be less than or equal to 90"
LAT_RU = "Должно быть не больше 90"


@pytest.mark.parametrize("accept", [None, "ru", "ru-RU,ru;q=0.9,en;q=0.8"])
def test_pages_are_russian_by_default_and_for_russian_browsers(owner_client, settings, accept):
    # The project's own default, even if a test fixture elsewhere switches tests to English.
    settings.LANGUAGE_CODE = importlib.import_module("t2site.settings").LANGUAGE_CODE
    assert settings.LANGUAGE_CODE == "ru"
    extra = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    html = owner_client.get(reverse("sets"), **extra).content.decode()
    assert '<html lang="ru"' in html
    assert "<h1>Наборы точек</h1>" in html
    assert "Location sets" not in html


def test_an_english_browser_gets_english(owner_client):
    html = owner_client.get(reverse("sets"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en"' in html
    assert "<h1>Location sets</h1>" in html
    assert "Наборы точек" not in html


def test_the_switch_remembers_the_choice(owner_client):
    response = owner_client.post(
        reverse("set_language"), {"language": "en", "next": reverse("sets")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sets")
    cookie = response.cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["max-age"] == django_settings.LANGUAGE_COOKIE_AGE
    # Later pages are English, even though the browser prefers Russian...
    html = owner_client.get(reverse("sets"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "<h1>Location sets</h1>" in html
    # ...until the switch goes back.
    owner_client.post(reverse("set_language"), {"language": "ru", "next": reverse("sets")})
    html = owner_client.get(reverse("sets"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Наборы точек</h1>" in html


def test_the_schema_message_beside_a_field_is_in_the_pages_language(owner):
    from django.test import Client

    location_set = make_set(owner)
    url = reverse("location-add", args=[location_set.pk])
    for language, expected, absent in [("ru", LAT_RU, LAT_EN), ("en", LAT_EN, LAT_RU)]:
        client = Client(HTTP_ACCEPT_LANGUAGE=language)
        client.force_login(owner)
        response = client.post(url, BAD_LAT_ROW)
        assert response.status_code == 400
        html = response.content.decode()
        assert expected in html, language
        assert absent not in html, language
    assert location_set.locations.count() == 3


def test_import_problems_are_in_the_pages_language(owner_client, owner):
    location_set = make_set(owner)
    url = reverse("set-import", args=[location_set.pk])
    csv = "ID,lat,lon,time_window_start,time_window_end\nx,91,45,09:00,18:00\nx,54,45,10:00,09:00\n"

    def problems(language):
        upload = SimpleUploadedFile("points.csv", csv.encode(), content_type="text/csv")
        response = owner_client.post(url, {"file": upload}, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 400
        return response.content.decode()

    html = problems("ru")
    assert LAT_RU in html
    assert "Окно закрывается (09:00) раньше, чем открывается (10:00)" in html
    html = problems("en")
    assert LAT_EN in html
    assert "window ends (09:00) before it starts (10:00)" in html


def test_the_api_answers_in_english_whatever_the_browser(owner_client):
    bad = {"locations": [location(1, lat=91)], "constraints": {}}
    response = owner_client.post(
        reverse("optimize"),
        json.dumps(bad),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 400
    assert LAT_EN in response.content.decode()
    assert LAT_RU not in response.content.decode()


# --- the catalogue ---------------------------------------------------------------------------


@pytest.mark.parametrize("message", sorted(FIXED_MESSAGES))
def test_every_fixed_schema_message_has_a_russian_translation(message):
    from django.utils import translation

    with translation.override("ru"):
        assert translate_schema_message(message) != message


@pytest.mark.parametrize(
    ("message", "russian"),
    [
        ("duplicate ID 'p1'", "ID 'p1' уже есть"),
        ("no location has ID 'zz'", "Нет точки с ID 'zz'"),
        (
            "the day must end after it starts (18:00)",
            "День должен заканчиваться позже начала (18:00)",
        ),
        (
            "at most 500 locations per request, got 501",
            "В одном запросе не больше 500 точек, а получено 501",
        ),
        (
            "the file is 2.5 MB; at most 1 MB",
            "Размер файла 2.5 МБ, а допустимо не больше 1 МБ",
        ),
        (
            "no lat, lon columns (columns found: id, name)",
            "Нет столбцов lat, lon (найдены столбцы: id, name)",
        ),
        ("Input should be less than or equal to 42", "Должно быть не больше 42"),
        ("something nobody translated", "something nobody translated"),
    ],
)
def test_messages_with_variable_parts(message, russian):
    from django.utils import translation

    with translation.override("ru"):
        assert translate_schema_message(message) == russian
    with translation.override("en"):
        assert translate_schema_message(message) == message


@pytest.mark.parametrize(
    ("reason", "russian"),
    [
        (
            "GGUF model file not found: qwen.gguf (looked in: /m/qwen.gguf)",
            "файл модели GGUF не найден: qwen.gguf (искали в: /m/qwen.gguf)",
        ),
        ("1 violations against the algorithm's 0", "1 нарушение против 0 у алгоритма"),
        ("3 violations against the algorithm's 1", "3 нарушения против 1 у алгоритма"),
        ("12 violations against the algorithm's 2", "12 нарушений против 2 у алгоритма"),
        # as the models page groups them, numbers blanked
        ("… violations against the algorithm's …", "… нарушений против … у алгоритма"),
        (
            "travel 52 min is over 10% more than the algorithm's 40 min",
            "в пути 52 мин: больше чем на 10% дольше, чем у алгоритма (40 мин)",
        ),
        ("unusable answer: no JSON array", "ответ не подходит: no JSON array"),
        ("llama.cpp said something new", "llama.cpp said something new"),
    ],
)
def test_the_engines_fixed_reasons_are_shown_in_the_pages_language(reason, russian):
    from django.utils import translation

    with translation.override("ru"):
        assert translate_engine_reason(reason) == russian
    with translation.override("en"):  # as it was; "1 violations" gets its singular
        english = reason.replace("1 violations", "1 violation", 1)
        assert translate_engine_reason(reason) == (english if reason[0] == "1" else reason)


@pytest.mark.parametrize("reason", sorted(ENGINE_FIXED))
def test_every_fixed_engine_reason_has_a_russian_translation(reason):
    from django.utils import translation

    with translation.override("ru"):
        assert translate_engine_reason(reason) != reason


def test_the_engine_still_says_what_the_catalogue_knows():
    """A reworded reason in llm/ would silently stop being translated."""
    from pathlib import Path

    from django.utils import translation

    from llm.files import ModelFileNotFound
    from llm.runtime import NOT_INSTALLED

    with translation.override("ru"):
        missing = str(ModelFileNotFound("q.gguf", [Path("/m/q.gguf")]))
        assert translate_engine_reason(missing).startswith("файл модели GGUF не найден")
        assert translate_engine_reason(NOT_INSTALLED) != NOT_INSTALLED


def test_the_schema_still_says_what_the_catalogue_knows():
    """A reworded message in routes.schema would silently stop being translated."""
    base = location(1)
    produced = set()
    for bad in [
        {"lat": 91},
        {"lat": -91},
        {"lon": 181},
        {"lon": -181},
        {"lat": "north"},
        {"lat": float("nan")},
        {"time_window_start": "9"},
        {"priority": "Z"},
        {"ID": ""},
        {"visit_minutes": -1},
        {"visit_minutes": 601},
        {"name": "x" * 301},
        {"address": "x" * 501},
    ]:
        with pytest.raises(RequestError) as exc:
            parse_request({"locations": [{**base, **bad}]})
        produced.update(e["message"] for e in exc.value.errors)
    for bad in [
        {"speed_kmh": 0},
        {"speed_kmh": 201},
        {"detour_factor": 0.5},
        {"detour_factor": 6},
        {"cost_per_km_rub": 10_001},
        {"unknown": 1},
    ]:
        with pytest.raises(RequestError) as exc:
            parse_request({"locations": [base], "constraints": bad})
        produced.update(e["message"] for e in exc.value.errors)
    assert produced <= FIXED_MESSAGES, produced - FIXED_MESSAGES
