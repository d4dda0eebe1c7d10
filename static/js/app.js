/*
 * T2 Routes: small page behaviours, all driven by data attributes (no inline scripts, CSP-safe).
 * Every page works without this file; it only makes the pages quicker to use.
 *
 *   <form data-confirm="Delete?">, <button data-confirm="…">  confirm() before submitting
 *   <select data-autosubmit>                    submit its form on change (hide the "Apply"
 *                                               button with class="js-hidden")
 *   <button data-copy="text">                   copy text to the clipboard; or
 *   <button data-copy data-copy-target="id">    copy that element's value / text;
 *                                               data-copied-label="Скопировано" for feedback
 *   <time data-elapsed-since="ISO">             m:ss since then, every second (h:mm:ss past an
 *                                               hour); data-elapsed-until="ISO" freezes it;
 *                                               data-now="ISO" (server time) corrects clock skew
 *   <div class="progress"><div class="bar" data-progress="42"></div></div>
 *                                               sets the bar's width (percent, 0–100)
 *   <button data-dismiss>                       removes the closest message / alert
 * <html> gets class "js" (and loses "no-js"), so CSS can hide what only the no-JS page needs.
 * Everything re-runs after htmx swaps (htmx:afterSettle).
 */
(function () {
  "use strict";

  const root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  const lang = (root.lang || "ru").slice(0, 2).toLowerCase();
  const COPIED = lang === "ru" ? "Скопировано" : "Copied";
  const COPY_FAILED = lang === "ru" ? "Не удалось скопировать" : "Could not copy";

  // --- data-confirm -------------------------------------------------------------------------
  // Capture phase on document: runs before htmx's own listeners on the element, so a
  // cancelled confirm stops htmx requests as well as plain submits.
  document.addEventListener("click", function (evt) {
    const button = evt.target.closest && evt.target.closest("button[data-confirm], input[data-confirm], a[data-confirm]");
    if (!button || button.disabled) return;
    if (!window.confirm(button.dataset.confirm)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
      return;
    }
    const form = button.form;
    if (form) {
      // Do not ask again in the form's own submit event (it follows within this task).
      form._t2confirmed = true;
      setTimeout(function () { form._t2confirmed = false; }, 0);
    }
  }, true);

  document.addEventListener("submit", function (evt) {
    const form = evt.target;
    if (!form || !form.dataset || form.dataset.confirm === undefined) return;
    if (form._t2confirmed) {
      form._t2confirmed = false;
      return;
    }
    if (evt.submitter && evt.submitter.dataset && evt.submitter.dataset.confirm !== undefined) return;
    if (!window.confirm(form.dataset.confirm)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  // --- data-autosubmit ----------------------------------------------------------------------
  document.addEventListener("change", function (evt) {
    const field = evt.target;
    if (!field || !field.form || !field.matches("[data-autosubmit]")) return;
    if (typeof field.form.requestSubmit === "function") {
      field.form.requestSubmit(); // fires "submit", so htmx-boosted forms stay htmx
    } else {
      field.form.submit();
    }
  });

  // --- data-print: a button that prints the page (the print stylesheet makes a route sheet) --
  document.addEventListener("click", function (evt) {
    const button = evt.target.closest && evt.target.closest("[data-print]");
    if (!button) return;
    evt.preventDefault();
    window.print();
  });

  // --- data-copy ----------------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "sr-only";
      document.body.appendChild(area);
      area.select();
      let ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (err) {
        ok = false;
      }
      area.remove();
      if (ok) resolve();
      else reject(new Error("copy failed"));
    });
  }

  function announce(text) {
    let live = document.getElementById("t2-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "t2-live";
      live.className = "sr-only";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function flash(button, text) {
    if (button._t2label === undefined) button._t2label = button.textContent;
    button.textContent = text;
    button.classList.add("copied");
    clearTimeout(button._t2timer);
    button._t2timer = setTimeout(function () {
      button.textContent = button._t2label;
      button._t2label = undefined;
      button.classList.remove("copied");
    }, 1600);
    announce(text);
  }

  document.addEventListener("click", function (evt) {
    const button = evt.target.closest && evt.target.closest("[data-copy]");
    if (!button) return;
    evt.preventDefault();
    let text = button.dataset.copy;
    if (button.dataset.copyTarget) {
      const source = document.getElementById(button.dataset.copyTarget);
      if (source) text = "value" in source ? source.value : source.textContent;
    }
    copyText(text || "").then(
      function () { flash(button, button.dataset.copiedLabel || COPIED); },
      function () { flash(button, COPY_FAILED); }
    );
  });

  // --- data-dismiss -------------------------------------------------------------------------
  document.addEventListener("click", function (evt) {
    const button = evt.target.closest && evt.target.closest("[data-dismiss]");
    if (!button) return;
    const box = button.closest(".alert, ul.messages > li, [data-dismissible]");
    if (box) {
      const list = box.parentElement;
      box.remove();
      if (list && list.matches("ul.messages") && !list.children.length) list.remove();
    }
  });

  // --- elapsed timers -----------------------------------------------------------------------
  function parseTime(text) {
    const t = Date.parse(text);
    return isNaN(t) ? null : t;
  }

  function formatElapsed(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function tick() {
    document.querySelectorAll("[data-elapsed-since]").forEach(function (node) {
      const since = parseTime(node.dataset.elapsedSince);
      if (since === null) return;
      if (node._t2skew === undefined) {
        const serverNow = node.dataset.now ? parseTime(node.dataset.now) : null;
        node._t2skew = serverNow === null ? 0 : serverNow - Date.now();
      }
      const until = node.dataset.elapsedUntil ? parseTime(node.dataset.elapsedUntil) : null;
      const now = until !== null ? until : Date.now() + node._t2skew;
      const text = formatElapsed(now - since);
      if (node.textContent !== text) node.textContent = text;
    });
  }

  // --- progress bars ------------------------------------------------------------------------
  // Setting el.style through the CSSOM is allowed by style-src 'self' (style attributes in the
  // markup are not).
  function progress(scope) {
    (scope || document).querySelectorAll(".progress > .bar[data-progress]").forEach(function (bar) {
      let value = parseFloat(bar.dataset.progress);
      if (!isFinite(value)) return;
      value = Math.min(100, Math.max(0, value));
      bar.style.width = value + "%";
      const track = bar.parentElement;
      if (track && !track.hasAttribute("role")) track.setAttribute("role", "progressbar");
      if (track && track.getAttribute("role") === "progressbar") {
        track.setAttribute("aria-valuemin", "0");
        track.setAttribute("aria-valuemax", "100");
        track.setAttribute("aria-valuenow", String(Math.round(value)));
      }
    });
  }

  function refresh(scope) {
    progress(scope);
    tick();
  }

  window.T2App = { refresh: refresh, formatElapsed: formatElapsed, copy: copyText };

  function boot() {
    refresh(document);
    setInterval(tick, 1000);
    // Whole document, not only the swap target: out-of-band swaps land elsewhere.
    document.body.addEventListener("htmx:afterSettle", function () { refresh(document); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
