"""The location-set pages: who sees what, inline editing, validation, samples, import, export."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from routes.models import Location, LocationSet

from .conftest import make_set

GOOD_ROW = {
    "name": "Салон <Т2> & Co",
    "address": "ул. Советская, 35",
    "lat": "54.1871",
    "lon": "45.1749",
    "time_window_start": "09:00",
    "time_window_end": "18:00",
    "priority": "A",
}


def set_urls(s: LocationSet) -> list[str]:
    row = s.locations.first()
    return [
        reverse("set", args=[s.pk]),
        reverse("set-import", args=[s.pk]),
        reverse("set-export", args=[s.pk, "csv"]),
        reverse("set-export", args=[s.pk, "json"]),
        reverse("set-delete", args=[s.pk]),
        reverse("location-edit", args=[s.pk, row.pk]),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, location_set):
    for url in [reverse("sets"), *set_urls(location_set)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_another_users_set_answers_404_everywhere(stranger_client, location_set):
    for url in set_urls(location_set):
        assert stranger_client.get(url).status_code == 404, url
    row = location_set.locations.first()
    for name, args in [
        ("set-rename", []),
        ("set-duplicate", []),
        ("set-delete", []),
        ("set-constraints", []),
        ("location-add", []),
        ("location-delete", [row.pk]),
        ("set-optimize", []),
    ]:
        response = stranger_client.post(reverse(name, args=[location_set.pk, *args]), GOOD_ROW)
        assert response.status_code == 404, name
    assert LocationSet.objects.get(pk=location_set.pk).locations.count() == 3


def test_the_list_shows_counts_and_the_last_run_in_a_bounded_number_of_queries(
    owner_client, owner, django_assert_max_num_queries
):
    for i in range(15):
        make_set(owner, n=i + 1, name=f"set {i}")
    with django_assert_max_num_queries(6):
        response = owner_client.get(reverse("sets"))
    assert response.status_code == 200
    assert response.context["sets"][0].location_total in range(1, 16)


def test_creating_a_set_needs_a_name_and_saves_nothing_without_one(owner_client, owner):
    response = owner_client.post(reverse("sets"), {"name": ""})
    assert response.status_code == 400
    assert not LocationSet.objects.exists()
    response = owner_client.post(reverse("sets"), {"name": "Вторник"})
    created = LocationSet.objects.get(owner=owner)
    assert response["Location"] == reverse("set", args=[created.pk])


def test_a_sample_set_is_added_with_one_click(owner_client, owner):
    response = owner_client.post(reverse("sample-create", args=["moscow-15"]))
    created = LocationSet.objects.get(owner=owner)
    assert response.status_code == 302
    assert created.locations.count() == 15
    owner_client.post(reverse("sample-create", args=["mordovia-30"]))
    assert LocationSet.objects.filter(owner=owner).count() == 2
    assert owner_client.post(reverse("sample-create", args=["nowhere"])).status_code == 404


def test_adding_a_row_inline_returns_the_row_and_a_fresh_form(owner_client, location_set):
    response = owner_client.post(
        reverse("location-add", args=[location_set.pk]), GOOD_ROW, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    row = location_set.locations.get(name=GOOD_ROW["name"])
    assert f'id="location-{row.pk}"' in html
    assert "Салон &lt;Т2&gt; &amp; Co" in html  # a name is data, escaped
    assert 'id="add-location-form"' in html and 'hx-swap-oob="true"' in html
    assert row.ident == "p4"  # made up when left empty, unique in the set


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("lat", "95", "less than or equal to 90"),
        ("lon", "abc", ""),
        ("time_window_start", "25:00", "must be a time"),
        ("priority", "Z", ""),
        ("visit_minutes", "-5", "greater than or equal to 0"),
    ],
)
def test_a_bad_row_shows_the_apis_message_beside_the_field_and_saves_nothing(
    owner_client, location_set, field, value, message
):
    response = owner_client.post(
        reverse("location-add", args=[location_set.pk]),
        {**GOOD_ROW, field: value},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#add-location-form"
    assert f'id="loc_{field}_error"' in html
    assert message in html
    assert location_set.locations.count() == 3


def test_a_window_that_ends_before_it_starts_is_refused_with_the_apis_words(
    owner_client, location_set
):
    response = owner_client.post(
        reverse("location-add", args=[location_set.pk]),
        {**GOOD_ROW, "time_window_start": "19:00", "time_window_end": "18:00"},
    )
    assert response.status_code == 400
    assert "window ends (18:00) before it starts (19:00)" in response.content.decode()
    assert location_set.locations.count() == 3


def test_a_duplicate_id_is_refused(owner_client, location_set):
    response = owner_client.post(
        reverse("location-add", args=[location_set.pk]), {**GOOD_ROW, "ident": "loc_1"}
    )
    assert response.status_code == 400
    assert "duplicate ID" in response.content.decode()
    assert location_set.locations.count() == 3


def test_editing_a_row_inline_saves_it_and_returns_the_row(owner_client, location_set):
    row = location_set.locations.first()
    url = reverse("location-edit", args=[location_set.pk, row.pk])
    form = owner_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert f'<tr id="location-{row.pk}" class="editing"' in form
    assert f'<form id="edit-location-{row.pk}"' in form and f'id="loc{row.pk}_name"' in form
    response = owner_client.post(
        url, {**GOOD_ROW, "ident": row.ident, "name": "Новое имя"}, HTTP_HX_REQUEST="true"
    )
    row.refresh_from_db()
    assert response.status_code == 200
    assert row.name == "Новое имя" and row.lat == pytest.approx(54.1871)
    assert "Новое имя" in response.content.decode()


def test_removing_a_row_inline_deletes_it(owner_client, location_set):
    row = location_set.locations.first()
    response = owner_client.post(
        reverse("location-delete", args=[location_set.pk, row.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert not Location.objects.filter(pk=row.pk).exists()


def test_day_settings_are_validated_by_the_schema_and_saved(owner_client, location_set):
    url = reverse("set-constraints", args=[location_set.pk])
    day = {
        "start_time": "08:30",
        "end_time": "20:00",
        "start_location": "loc_2",
        "return_to_start": "on",
        "speed_kmh": "25",
        "detour_factor": "1.4",
        "visit_minutes": "15",
        "cost_per_km_rub": "9",
    }
    bad = owner_client.post(url, {**day, "end_time": "07:00"})
    assert bad.status_code == 400
    assert "the day must end after it starts" in bad.content.decode()
    location_set.refresh_from_db()
    assert location_set.constraints == {}
    owner_client.post(url, day)
    location_set.refresh_from_db()
    assert location_set.constraints["start"] == "loc_2"
    assert location_set.day.return_to_start is True
    assert location_set.day.speed_kmh == 25
    page = owner_client.get(reverse("set", args=[location_set.pk])).content.decode()
    assert '<option value="loc_2" selected>' in page
    assert '<option value="loc_1" selected>' not in page


def test_rename_duplicate_and_delete(owner_client, owner, location_set):
    owner_client.post(reverse("set-rename", args=[location_set.pk]), {"name": "Среда"})
    location_set.refresh_from_db()
    assert location_set.name == "Среда"
    owner_client.post(reverse("set-duplicate", args=[location_set.pk]))
    copy = LocationSet.objects.exclude(pk=location_set.pk).get(owner=owner)
    assert copy.locations.count() == 3 and "Среда" in copy.name
    page = owner_client.get(reverse("set-delete", args=[location_set.pk]))
    assert page.status_code == 200  # asks first
    assert LocationSet.objects.filter(pk=location_set.pk).exists()
    owner_client.post(reverse("set-delete", args=[location_set.pk]))
    assert not LocationSet.objects.filter(pk=location_set.pk).exists()


def test_every_form_needs_the_csrf_token(owner, location_set):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    row = location_set.locations.first()
    for name, args in [
        ("sets", []),
        ("sample-create", ["moscow-15"]),
        ("set-rename", [location_set.pk]),
        ("set-duplicate", [location_set.pk]),
        ("set-delete", [location_set.pk]),
        ("set-constraints", [location_set.pk]),
        ("set-import", [location_set.pk]),
        ("location-add", [location_set.pk]),
        ("location-edit", [location_set.pk, row.pk]),
        ("location-delete", [location_set.pk, row.pk]),
        ("set-optimize", [location_set.pk]),
    ]:
        assert client.post(reverse(name, args=args), GOOD_ROW).status_code == 403, name
    assert LocationSet.objects.count() == 1


def test_import_lists_bad_rows_and_imports_nothing_unless_asked(owner_client, location_set):
    csv = (
        "name;address;lat;lon;time_window_start;time_window_end;category\n"
        "Точка 1;ул. А;54,18;45,17;09:00;18:00;A\n"
        "Точка 2;ул. Б;не число;45,18;09:00;18:00;B\n"
        "Точка 3;ул. В;54,19;45,19;10:00;17:00;C\n"
    ).encode("utf-8-sig")
    url = reverse("set-import", args=[location_set.pk])
    response = owner_client.post(url, {"file": SimpleUploadedFile("points.csv", csv)})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="import-errors"' in html and "lat" in html
    assert location_set.locations.count() == 3
    response = owner_client.post(
        url, {"file": SimpleUploadedFile("points.csv", csv), "skip_bad_rows": "on"}
    )
    assert response.status_code == 302
    assert location_set.locations.count() == 5


def test_import_replaces_the_locations_when_asked(owner_client, location_set):
    body = {"locations": [{**GOOD_ROW, "ID": "x1", "lat": 54.2, "lon": 45.2}]}
    owner_client.post(
        reverse("set-import", args=[location_set.pk]),
        {"file": SimpleUploadedFile("set.json", json.dumps(body).encode()), "replace": "on"},
    )
    assert list(location_set.locations.values_list("ident", flat=True)) == ["x1"]


def test_the_json_export_is_a_valid_optimize_body(owner_client, location_set, post_json):
    exported = owner_client.get(reverse("set-export", args=[location_set.pk, "json"]))
    body = json.loads(exported.content)
    response = post_json("/optimize", body)
    assert response.status_code == 200
    assert sorted(response.json()["locations"]) == ["loc_1", "loc_2", "loc_3"]


def test_the_csv_export_neutralises_formulas(owner_client, owner):
    s = make_set(owner, n=1)
    s.locations.update(name='=HYPERLINK("http://evil")')
    text = owner_client.get(reverse("set-export", args=[s.pk, "csv"])).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_a_300_stop_set_page_renders_in_a_bounded_number_of_queries(
    owner_client, owner, django_assert_max_num_queries
):
    big = make_set(owner, n=300)
    with django_assert_max_num_queries(12):
        response = owner_client.get(reverse("set", args=[big.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('data-point="loc_') == 300
