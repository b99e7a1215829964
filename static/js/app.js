// Behaviour every page shares; no inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  // A button with data-copy="<css selector>" copies that element's text.
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText((source.value || source.textContent).trim()).then(function () {
      const done = button.dataset.copied;
      if (done) { const before = button.textContent; button.textContent = done; setTimeout(function () { button.textContent = before; }, 1500); }
    });
  });

  // An htmx request that fails shows the server's message where the page asks
  // (hx-target-error="<selector>" on an ancestor, else #page-error), never nothing.
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const holder = event.detail.elt.closest("[data-error-target]");
    const target = document.querySelector(holder ? holder.dataset.errorTarget : "#page-error");
    if (!target) return;
    let text = xhr.responseText || "";
    const type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      try { const body = JSON.parse(text); text = body.error ? body.error.message + " (" + body.error.code + ")" : text; } catch (e) { /* keep text */ }
      target.textContent = text;
    } else if (type.indexOf("text/html") === 0 && xhr.status < 500) {
      target.innerHTML = text; // our own server-rendered, escaped fragment
    } else {
      target.textContent = target.dataset.fallback || ("HTTP " + xhr.status);
    }
    target.hidden = false;
  });
  document.addEventListener("htmx:sendError", function () {
    const target = document.querySelector("#page-error");
    if (target) { target.textContent = target.dataset.offline || "Offline"; target.hidden = false; }
  });
})();
