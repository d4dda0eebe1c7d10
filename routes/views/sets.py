"""Location sets: the list, one set with its locations edited inline, import and export."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from llm.models import ModelSlot
from routes import exporting, importing
from routes.forms import (
    ConstraintsForm,
    ImportForm,
    LocationForm,
    LocationSetForm,
    OptimizeForm,
)
from routes.messages import translate_schema_message
from routes.models import Location, LocationSet, RouteRun
from routes.samples import SAMPLE_SETS, sample_set


def _get_set_for_user(request: HttpRequest, pk: int) -> LocationSet:
    return get_object_or_404(LocationSet.objects.for_user(request.user), pk=pk)


def _get_location(location_set: LocationSet, pk: int) -> Location:
    return get_object_or_404(location_set.locations, pk=pk)


def row_labels() -> dict[str, str]:
    """The words on every location row, translated once per page rather than per row."""
    return {
        "edit": _("Edit"),
        "remove": _("Remove"),
        "confirm_remove": _("Remove this location?"),
        # A phone shows each row as a card, with these above its values.
        "window": _("Window"),
        "priority": _("Priority"),
        "visit": _("Visit, min"),
    }


def set_map_data(locations) -> dict:
    return {
        "points": [
            {
                "id": row.ident,
                "name": row.name,
                "address": row.address,
                "lat": row.lat,
                "lon": row.lon,
                "priority": row.priority,
                "order": None,
                "skipped": False,
                "row": f"location-{row.pk}",
            }
            for row in locations
        ],
        "route": False,
        "start": None,
    }


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not get_user_model().objects.exists():
        return redirect("setup")
    return redirect("sets" if request.user.is_authenticated else "login")


@login_required
@require_http_methods(["GET", "POST"])
def set_list(request: HttpRequest) -> HttpResponse:
    form = LocationSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        location_set = LocationSet.objects.create(
            owner=request.user, name=form.cleaned_data["name"]
        )
        return redirect("set", pk=location_set.pk)
    sets = LocationSet.objects.for_user(request.user).with_summary()
    return render(
        request,
        "routes/set_list.html",
        {"nav": "sets", "sets": sets, "form": form, "samples": SAMPLE_SETS},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def sample_create(request: HttpRequest, key: str) -> HttpResponse:
    if key not in SAMPLE_SETS:
        raise Http404
    name, body = sample_set(key)
    with transaction.atomic():
        location_set = LocationSet.objects.create(
            owner=request.user, name=name, constraints=body.get("constraints") or {}
        )
        Location.objects.bulk_create(
            Location.from_request(item, location_set=location_set, position=i)
            for i, item in enumerate(body["locations"])
        )
    messages.success(request, _("Sample set added: %(name)s") % {"name": name})
    return redirect("set", pk=location_set.pk)


def _set_context(request: HttpRequest, location_set: LocationSet, **extra) -> dict:
    locations = list(location_set.locations.all())
    slots = list(ModelSlot.objects.order_by("position", "name"))
    context = {
        "nav": "sets",
        "set": location_set,
        "locations": locations,
        "add_form": LocationForm(location_set=location_set),
        "constraints_form": ConstraintsForm(location_set=location_set, locations=locations),
        "optimize_form": OptimizeForm(slots=slots),
        "rename_form": LocationSetForm(initial={"name": location_set.name}),
        "map_data": set_map_data(locations),
        "labels": row_labels(),
        "recent_runs": RouteRun.objects.filter(location_set=location_set).newest_first()[:5],
    }
    context.update(extra)
    return context


@login_required
@require_GET
def set_detail(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    return render(request, "routes/set_detail.html", _set_context(request, location_set))


@login_required
@require_POST
def set_rename(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    form = LocationSetForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "routes/set_detail.html",
            _set_context(request, location_set, rename_form=form),
            status=400,
        )
    location_set.name = form.cleaned_data["name"]
    location_set.save(update_fields=["name", "updated_at"])
    return redirect("set", pk=pk)


@login_required
@require_POST
def set_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    with transaction.atomic():
        copy = location_set.duplicate(_("%(name)s (copy)") % {"name": location_set.name})
    messages.success(request, _("Set duplicated."))
    return redirect("set", pk=copy.pk)


@login_required
@require_http_methods(["GET", "POST"])
def set_delete(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    if request.method == "POST":
        name = location_set.name
        location_set.delete()
        messages.success(request, _("Set deleted: %(name)s") % {"name": name})
        return redirect("sets")
    return render(request, "routes/set_delete.html", {"nav": "sets", "set": location_set})


def _map_oob(request: HttpRequest, location_set: LocationSet) -> str:
    from django.template.loader import render_to_string

    return render_to_string(
        "routes/set_detail.html#map-data-oob",
        {"map_data": set_map_data(location_set.locations.all())},
        request=request,
    )


@login_required
@require_POST
def location_add(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    form = LocationForm(request.POST, location_set=location_set)
    if not form.is_valid():
        if request.htmx:
            response = render(
                request,
                "routes/set_detail.html#add-form",
                {"set": location_set, "add_form": form},
            )
            return reswap(retarget(response, "#add-location-form"), "outerHTML")
        return render(
            request,
            "routes/set_detail.html",
            _set_context(request, location_set, add_form=form),
            status=400,
        )
    row = Location.from_request(
        form.request_data, location_set=location_set, position=location_set.next_position()
    )
    row.save()
    location_set.save(update_fields=["updated_at"])
    if not request.htmx:
        return redirect("set", pk=pk)
    context = {
        "set": location_set,
        "row": row,
        "labels": row_labels(),
        "add_form": LocationForm(location_set=location_set),
    }
    html = render(request, "routes/set_detail.html#location-row", context).content.decode()
    html += render(request, "routes/set_detail.html#add-form-oob", context).content.decode()
    return HttpResponse(html + _map_oob(request, location_set))


@login_required
@require_http_methods(["GET", "POST"])
def location_edit(request: HttpRequest, pk: int, location_pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    row = _get_location(location_set, location_pk)
    initial = {**row.fields(), "ident": row.ident}
    form = LocationForm(
        request.POST or None,
        location_set=location_set,
        instance=row,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        for name, value in Location.from_request(form.request_data).fields().items():
            if name != "position":
                setattr(row, name, value)
        row.save()
        location_set.save(update_fields=["updated_at"])
        if not request.htmx:
            return redirect("set", pk=pk)
        html = render(
            request,
            "routes/set_detail.html#location-row",
            {"set": location_set, "row": row, "labels": row_labels()},
        ).content.decode()
        return HttpResponse(html + _map_oob(request, location_set))
    context = {"nav": "sets", "set": location_set, "row": row, "form": form}
    if request.htmx:
        return render(request, "routes/location_edit.html#edit-row", context)
    return render(request, "routes/location_edit.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def location_row(request: HttpRequest, pk: int, location_pk: int) -> HttpResponse:
    """One row as shown (the edit row's Cancel)."""
    location_set = _get_set_for_user(request, pk)
    row = _get_location(location_set, location_pk)
    if not request.htmx:
        return redirect("set", pk=pk)
    return render(
        request,
        "routes/set_detail.html#location-row",
        {"set": location_set, "row": row, "labels": row_labels()},
    )


@login_required
@require_POST
def location_delete(request: HttpRequest, pk: int, location_pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    row = _get_location(location_set, location_pk)
    row.delete()
    location_set.save(update_fields=["updated_at"])
    if not request.htmx:
        messages.success(request, _("Location %(id)s removed.") % {"id": row.ident})
        return redirect("set", pk=pk)
    return HttpResponse(_map_oob(request, location_set))


@login_required
@require_POST
def constraints_update(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    form = ConstraintsForm(request.POST, location_set=location_set)
    saved = form.is_valid()
    if saved:
        location_set.constraints = form.constraints
        location_set.save(update_fields=["constraints", "updated_at"])
        if not request.htmx:
            messages.success(request, _("Day settings saved."))
            return redirect("set", pk=pk)
    context = {"set": location_set, "constraints_form": form, "saved": saved}
    if request.htmx:
        return render(request, "routes/set_detail.html#constraints", context)
    return render(
        request,
        "routes/set_detail.html",
        _set_context(request, location_set, constraints_form=form),
        status=400,
    )


@login_required
@require_http_methods(["GET", "POST"])
def set_import(request: HttpRequest, pk: int) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > settings.T2_MAX_IMPORT_BYTES:
            form.add_error(
                "file",
                _("The file is %(size)d bytes; the limit is %(limit)d.")
                % {"size": upload.size, "limit": settings.T2_MAX_IMPORT_BYTES},
            )
        else:
            result = importing.parse_locations_file(
                upload.name,
                upload.read(),
                max_bytes=settings.T2_MAX_IMPORT_BYTES,
                max_rows=settings.T2_MAX_LOCATIONS,
            )
            if result.locations and (not result.errors or form.cleaned_data["skip_bad_rows"]):
                count = _import_rows(location_set, result, replace=form.cleaned_data["replace"])
                if count is not None:
                    messages.success(request, _("Imported %(n)d locations.") % {"n": count})
                    return redirect("set", pk=pk)
                form.add_error(
                    None,
                    _(
                        "Some IDs in the file are already in this set; "
                        "tick “replace the current locations” or change them."
                    ),
                )
    if result is not None:  # the file's problems in the page's language (the API's stay English)
        result.errors = [
            replace(e, message=translate_schema_message(e.message)) for e in result.errors
        ]
    return render(
        request,
        "routes/set_import.html",
        {"nav": "sets", "set": location_set, "form": form, "result": result},
        status=400 if form.errors or (result and result.errors) else 200,
    )


def _import_rows(location_set: LocationSet, result, *, replace: bool) -> int | None:
    """Save the imported rows in one transaction; None (nothing saved) when an ID clashes."""
    with transaction.atomic():
        if replace:
            location_set.locations.all().delete()
            position = 0
        else:
            taken = set(location_set.locations.values_list("ident", flat=True))
            if taken & {item["ID"] for item in result.locations}:
                return None
            position = location_set.next_position()
        Location.objects.bulk_create(
            Location.from_request(item, location_set=location_set, position=position + i)
            for i, item in enumerate(result.locations)
        )
        if result.constraints is not None:
            location_set.constraints = result.constraints
        location_set.save()
    return len(result.locations)


@login_required
@require_GET
def set_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    location_set = _get_set_for_user(request, pk)
    locations = [row.as_request() for row in location_set.locations.all()]
    filename = f"set-{location_set.pk}"
    if fmt == "csv":
        response = HttpResponse(
            "\ufeff" + exporting.locations_csv(locations), content_type="text/csv; charset=utf-8"
        )
    elif fmt == "json":
        response = HttpResponse(
            exporting.request_json(locations, location_set.constraints or {}),
            content_type="application/json; charset=utf-8",
        )
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
