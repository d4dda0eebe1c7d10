/*
 * T2 Routes maps, on Leaflet 1.9.4 (static/vendor/leaflet-1.9.4, from the npm registry).
 * Load leaflet.js before this file. Plain ES2017, no build step, nothing inline (CSP-safe):
 * every user-provided string reaches the page through textContent, never innerHTML.
 *
 * Contract with the templates:
 *   <div class="map" id="set-map" data-map-data="set-map-data" data-pick-form="new-location-form"
 *        role="region" aria-label="Map"></div>
 *   {{ map_data|json_script:"set-map-data" }}
 * JSON: {"points": [{"id", "name", "address", "lat", "lon", "priority": "A".."D",
 *                    "order": 1 | null, "skipped": false, "row": "row-12" | null}],
 *        "route": true | false, "start": {"lat", "lon"} | null}
 * Optional attributes on the map element or any ancestor (<body> for the whole site):
 *   data-tiles="off"       never load tiles (the plain background stays; for tests/offline)
 *   data-tile-url="…"      another {z}/{x}/{y} tile server (default OpenStreetMap)
 * Optional attributes on the map element:
 *   data-label-start, -new, -priority, -visit, -skipped: UI words
 *     (defaults follow <html lang>: Russian or English)
 * Elements anywhere with data-point="<point id>" highlight that point's marker on hover/focus.
 *
 * API: T2Map.init(root) (re)initialises maps inside root (or root itself), updating a map in
 * place when its JSON changed; T2Map.refresh() re-reads every map's JSON; T2Map.highlight(id, on);
 * T2Map.get(el) gives the Leaflet map (also el._t2map.map).
 */
(function () {
  "use strict";

  const L = window.L;
  const MOSCOW = [55.7558, 37.6173];
  const DEFAULT_ZOOM = 10;
  const TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
  const TILE_ATTRIBUTION =
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>';
  const PRIORITIES = ["A", "B", "C", "D"];
  const WORDS = {
    ru: { start: "Старт", new: "Новая точка", priority: "Приоритет", visit: "Визит №",
          skipped: "пропущена" },
    en: { start: "Start", new: "New point", priority: "Priority", visit: "Visit #",
          skipped: "skipped" },
  };

  const maps = new Set(); // the state objects of live maps (el._t2map)
  let highlightedRow = null;

  function words(el) {
    const lang = (document.documentElement.lang || "ru").slice(0, 2).toLowerCase();
    const base = WORDS[lang] || WORDS.en;
    const d = el.dataset;
    return {
      start: d.labelStart || base.start,
      new: d.labelNew || base.new,
      priority: d.labelPriority || base.priority,
      visit: d.labelVisit || base.visit,
      skipped: d.labelSkipped || base.skipped,
    };
  }

  function readData(el) {
    const script = el.dataset.mapData ? document.getElementById(el.dataset.mapData) : null;
    const raw = script ? script.textContent : "";
    let data = null;
    try {
      data = raw ? JSON.parse(raw) : null;
    } catch (err) {
      console.error("T2Map: bad JSON in #" + el.dataset.mapData, err);
    }
    if (!data || typeof data !== "object") data = {};
    const points = Array.isArray(data.points) ? data.points.filter(validPoint) : [];
    const start = data.start && validPoint(data.start) ? data.start : null;
    return { raw: raw, points: points, route: Boolean(data.route), start: start };
  }

  function validPoint(p) {
    return p && isFinite(p.lat) && isFinite(p.lon) && p.lat !== null && p.lon !== null &&
      Math.abs(p.lat) <= 90 && Math.abs(p.lon) <= 180;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null && text !== "") node.textContent = String(text);
    return node;
  }

  function priorityOf(p) {
    const prio = String(p.priority || "").toUpperCase();
    return PRIORITIES.indexOf(prio) >= 0 ? prio : "D";
  }

  function hasOrder(p) {
    return p.order !== null && p.order !== undefined && p.order !== "" && !p.skipped;
  }

  function pointIcon(p) {
    const prio = priorityOf(p);
    const ordered = hasOrder(p);
    const wrap = el("span", "t2-pin");
    wrap.appendChild(el("span", "t2-pin-label", ordered ? p.order : prio));
    if (ordered) wrap.appendChild(el("span", "t2-pin-prio", prio));
    let cls = "t2-marker t2-prio-" + prio;
    if (p.skipped) cls += " t2-skipped";
    if (ordered) cls += " t2-ordered";
    return L.divIcon({ html: wrap, className: cls, iconSize: [30, 30], iconAnchor: [15, 15],
                       popupAnchor: [0, -14] });
  }

  function startIcon() {
    const wrap = el("span", "t2-pin");
    wrap.appendChild(el("span", "t2-pin-label", "\u2302")); // ⌂
    return L.divIcon({ html: wrap, className: "t2-marker t2-start", iconSize: [30, 30],
                       iconAnchor: [15, 15], popupAnchor: [0, -14] });
  }

  function newIcon() {
    const wrap = el("span", "t2-pin");
    wrap.appendChild(el("span", "t2-pin-label", "+"));
    return L.divIcon({ html: wrap, className: "t2-marker t2-new", iconSize: [30, 30],
                       iconAnchor: [15, 15], popupAnchor: [0, -14] });
  }

  function popupNode(p, w) {
    const box = el("div", "t2-popup");
    box.appendChild(el("strong", "t2-popup-name", p.name || p.id));
    if (p.address) box.appendChild(el("div", "t2-popup-address", p.address));
    let meta = w.priority + " " + priorityOf(p);
    if (hasOrder(p)) meta = w.visit + p.order + " · " + meta;
    if (p.skipped) meta += " · " + w.skipped;
    box.appendChild(el("div", "t2-popup-meta", meta));
    return box;
  }

  function describe(p, w) {
    let text = (p.name || p.id) + ", " + w.priority + " " + priorityOf(p);
    if (hasOrder(p)) text = w.visit + p.order + ": " + text;
    if (p.skipped) text += ", " + w.skipped;
    return text;
  }

  // data-tiles="off" / data-tile-url="…" on the map or any ancestor (e.g. <body>, from a setting).
  function tileSetting(node, name) {
    const holder = node.closest("[data-" + name + "]");
    return holder ? holder.getAttribute("data-" + name) : null;
  }

  function tilesWanted(node) {
    return tileSetting(node, "tiles") !== "off" && navigator.onLine !== false;
  }

  function addTiles(state) {
    if (state.tiles || !tilesWanted(state.el)) return;
    const url = tileSetting(state.el, "tile-url") || TILE_URL;
    state.tiles = L.tileLayer(url, { maxZoom: 19, attribution: TILE_ATTRIBUTION })
      .addTo(state.map);
  }

  function create(node) {
    const map = L.map(node, {
      center: MOSCOW,
      zoom: DEFAULT_ZOOM,
      zoomSnap: 0.5,
      scrollWheelZoom: false, // a page scroll should not zoom the map; use +/- or ctrl-less pinch
      attributionControl: true,
    });
    // Scroll-zoom only once the map has been clicked or focused, so pages scroll freely.
    map.on("focus click", function () { map.scrollWheelZoom.enable(); });
    map.on("blur", function () { map.scrollWheelZoom.disable(); });
    map.attributionControl.setPrefix(false);

    const state = {
      el: node,
      map: map,
      raw: null,
      words: words(node),
      layer: L.layerGroup().addTo(map),
      markers: new Map(), // point id -> marker
      newMarker: null,
      tiles: null,
    };
    addTiles(state);
    map.on("click", function (evt) { pick(state, evt.latlng); });
    node.classList.add("t2map-ready");
    node._t2map = state;
    maps.add(state);
    return state;
  }

  function draw(state, data) {
    const w = state.words;
    state.layer.clearLayers();
    state.markers.clear();
    state.raw = data.raw;

    if (data.route) {
      const ordered = data.points.filter(hasOrder).slice().sort(function (a, b) {
        return Number(a.order) - Number(b.order);
      });
      const line = ordered.map(function (p) { return [p.lat, p.lon]; });
      if (data.start) line.unshift([data.start.lat, data.start.lon]);
      if (line.length > 1) {
        // A white casing under the line keeps it readable over tiles and the plain background.
        L.polyline(line, { color: "#ffffff", weight: 7, opacity: 0.9, interactive: false,
                           className: "t2-route-casing" }).addTo(state.layer);
        L.polyline(line, { color: "#1f4fa8", weight: 4, opacity: 0.9, interactive: false,
                           className: "t2-route" }).addTo(state.layer);
      }
    }

    if (data.start) {
      L.marker([data.start.lat, data.start.lon], {
        icon: startIcon(), title: w.start, keyboard: false, zIndexOffset: 5000,
      }).bindPopup(el("strong", "t2-popup-name", w.start)).addTo(state.layer);
    }

    data.points.forEach(function (p) {
      const marker = L.marker([p.lat, p.lon], {
        icon: pointIcon(p),
        title: describe(p, w),
        riseOnHover: true,
        // Leaflet stacks by screen y; big offsets keep A over B over C over D, skipped lowest.
        zIndexOffset: p.skipped ? 0 : (4 - PRIORITIES.indexOf(priorityOf(p))) * 1000,
      });
      marker.bindPopup(popupNode(p, w), { autoPanPadding: [24, 24] });
      marker.on("click", function () { selectRow(p); });
      marker.on("add", function () {
        const icon = marker.getElement();
        if (icon) {
          icon.setAttribute("aria-label", describe(p, w));
          icon.dataset.mapPoint = String(p.id);
        }
      });
      // Pointing at a marker tints its row (if the row is on the page).
      marker.on("mouseover", function () { hoverRow(p, true); });
      marker.on("mouseout", function () { hoverRow(p, false); });
      marker.addTo(state.layer);
      if (p.id !== undefined && p.id !== null) state.markers.set(String(p.id), marker);
    });
  }

  function fit(state, data, onlyIfOutside) {
    const map = state.map;
    const latlngs = data.points.map(function (p) { return [p.lat, p.lon]; });
    if (data.start) latlngs.push([data.start.lat, data.start.lon]);
    if (!latlngs.length) {
      if (!onlyIfOutside) map.setView(MOSCOW, DEFAULT_ZOOM);
      return;
    }
    const bounds = L.latLngBounds(latlngs);
    if (onlyIfOutside && map.getBounds().pad(-0.05).contains(bounds)) return;
    if (latlngs.length === 1) {
      map.setView(bounds.getCenter(), Math.max(map.getZoom(), 14));
    } else {
      map.fitBounds(bounds, { padding: [28, 28], maxZoom: 16 });
    }
  }

  function pick(state, latlng) {
    const formId = state.el.dataset.pickForm;
    const form = formId ? document.getElementById(formId) : null;
    if (!form) return;
    const lat = form.querySelector("input[name=lat]");
    const lon = form.querySelector("input[name=lon]");
    if (!lat || !lon) return;
    const wrapped = latlng.wrap();
    lat.value = wrapped.lat.toFixed(6);
    lon.value = wrapped.lng.toFixed(6);
    [lat, lon].forEach(function (input) {
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    placeNewMarker(state, wrapped);
    const name = form.querySelector("input[name=name]");
    if (name && !name.value) name.focus();
  }

  function placeNewMarker(state, latlng) {
    if (state.newMarker) {
      state.newMarker.setLatLng(latlng);
    } else {
      state.newMarker = L.marker(latlng, {
        icon: newIcon(), title: state.words.new, keyboard: false, zIndexOffset: 200000,
        interactive: false,
      }).addTo(state.map);
    }
  }

  function clearNewMarker(state) {
    if (state.newMarker) {
      state.newMarker.remove();
      state.newMarker = null;
    }
  }

  // Typing coordinates into the pick form moves the "new" marker too.
  function onPickFormInput(evt) {
    const input = evt.target;
    if (!input || !input.form || (input.name !== "lat" && input.name !== "lon")) return;
    maps.forEach(function (state) {
      if (state.el.dataset.pickForm !== input.form.id) return;
      const lat = parseFloat(String(input.form.elements.lat && input.form.elements.lat.value).replace(",", "."));
      const lon = parseFloat(String(input.form.elements.lon && input.form.elements.lon.value).replace(",", "."));
      if (isFinite(lat) && isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        placeNewMarker(state, L.latLng(lat, lon));
      } else {
        clearNewMarker(state);
      }
    });
  }

  function selectRow(p) {
    if (highlightedRow) highlightedRow.classList.remove("highlight");
    highlightedRow = null;
    const row = p.row ? document.getElementById(p.row) : null;
    if (!row) return;
    row.classList.add("highlight");
    highlightedRow = row;
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    row.scrollIntoView({ block: "nearest", behavior: reduce ? "auto" : "smooth" });
  }

  function hoverRow(p, on) {
    const row = p.row ? document.getElementById(p.row) : null;
    if (!row || row === highlightedRow) return;
    row.classList.toggle("highlight", on);
  }

  function highlight(id, on) {
    if (id === undefined || id === null) return;
    maps.forEach(function (state) {
      const marker = state.markers.get(String(id));
      if (!marker) return;
      const icon = marker.getElement();
      if (icon) icon.classList.toggle("t2-hl", Boolean(on));
      if (on) {
        marker._t2z = marker.options.zIndexOffset;
        marker.setZIndexOffset(100000);
      } else if (marker._t2z !== undefined) {
        marker.setZIndexOffset(marker._t2z);
      }
    });
  }

  function pointOf(target) {
    if (!target || !target.closest) return null;
    const node = target.closest("[data-point]");
    return node && node.dataset.point ? node : null;
  }

  function onOver(evt) {
    const node = pointOf(evt.target);
    if (!node) return;
    const from = pointOf(evt.relatedTarget);
    if (from === node) return; // moving inside the same row
    if (from) highlight(from.dataset.point, false);
    highlight(node.dataset.point, true);
  }

  function onOut(evt) {
    const node = pointOf(evt.target);
    if (!node) return;
    if (pointOf(evt.relatedTarget) === node) return;
    highlight(node.dataset.point, false);
  }

  function prune() {
    maps.forEach(function (state) {
      if (!document.documentElement.contains(state.el)) {
        if (state.observer) state.observer.disconnect();
        state.map.remove();
        delete state.el._t2map;
        maps.delete(state);
      }
    });
  }

  function setup(node) {
    if (!L) return null;
    const data = readData(node);
    let state = node._t2map;
    if (state && maps.has(state)) {
      state.words = words(node);
      if (data.raw !== state.raw) {
        state.data = data;
        draw(state, data);
        clearNewMarker(state);
        fit(state, data, true);
      }
      state.map.invalidateSize();
      return state;
    }
    state = create(node);
    draw(state, data);
    fit(state, data, false);
    state.data = data;
    watchSize(state);
    return state;
  }

  // A map created while hidden (a closed <details>, a tab) has no size: fit it once it shows.
  function watchSize(state) {
    if (typeof ResizeObserver !== "function") return;
    let hadSize = state.el.clientWidth > 0 && state.el.clientHeight > 0;
    state.observer = new ResizeObserver(function () {
      const hasSize = state.el.clientWidth > 0 && state.el.clientHeight > 0;
      if (!hasSize) return;
      state.map.invalidateSize();
      if (!hadSize) fit(state, state.data, false);
      hadSize = true;
    });
    state.observer.observe(state.el);
  }

  function init(root) {
    if (!L) {
      console.error("T2Map: Leaflet is not loaded (load leaflet.js before map.js)");
      return;
    }
    prune();
    root = root || document;
    const found = [];
    if (root.matches && root.matches(".map[data-map-data]")) found.push(root);
    if (root.querySelectorAll) {
      root.querySelectorAll(".map[data-map-data]").forEach(function (n) { found.push(n); });
    }
    found.forEach(setup);
  }

  // Re-read every live map's JSON (an htmx swap may replace only the data script).
  function refresh() {
    prune();
    maps.forEach(function (state) { setup(state.el); });
  }

  function get(node) {
    return node && node._t2map ? node._t2map.map : null;
  }

  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      maps.forEach(function (state) { state.map.invalidateSize(); });
    }, 100);
  }

  function boot() {
    init(document);
    if (document.body) {
      document.body.addEventListener("htmx:afterSettle", function (evt) {
        init(evt.target);
        refresh();
      });
    }
  }

  document.addEventListener("mouseover", onOver);
  document.addEventListener("mouseout", onOut);
  document.addEventListener("focusin", onOver);
  document.addEventListener("focusout", onOut);
  document.addEventListener("input", onPickFormInput);
  window.addEventListener("resize", onResize);
  window.addEventListener("online", function () { maps.forEach(addTiles); });

  window.T2Map = { init: init, refresh: refresh, highlight: highlight, get: get,
                   version: "leaflet-1.9.4" };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
