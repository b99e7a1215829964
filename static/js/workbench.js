// The workbench: keyboard shortcuts, the reservation timer, time on task and focus.
// Every text comes from the page (data-* attributes); user data is never parsed as HTML.
// Without this file the form still works: radios, a submit button, a skip button.
(function () {
  "use strict";

  let shownAt = performance.now(); // when the current item appeared
  let timerId = null;

  function task() { return document.getElementById("task"); }
  function form() { return document.querySelector("[data-workbench-form]"); }

  // --- the reservation timer ----------------------------------------------------------
  function format(seconds) {
    const m = Math.floor(seconds / 60);
    const s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function startTimer() {
    if (timerId) { clearInterval(timerId); timerId = null; }
    const timer = document.querySelector("[data-timer]");
    if (!timer) return;
    const expires = Date.parse(timer.dataset.expiresAt);
    const serverNow = Date.parse(timer.dataset.now);
    if (isNaN(expires) || isNaN(serverNow)) return;
    // Count against the server's clock: the browser's may be off.
    const skew = serverNow - Date.now();
    const text = timer.querySelector("[data-timer-text]");
    function tick() {
      const left = Math.max(0, Math.round((expires - (Date.now() + skew)) / 1000));
      if (left > 0) {
        text.textContent = timer.dataset.textLeft.replace("{time}", format(left));
        timer.classList.toggle("timer-low", left <= 60);
        return;
      }
      clearInterval(timerId); timerId = null;
      text.textContent = timer.dataset.textExpired;
      timer.classList.remove("timer-low");
      timer.classList.add("timer-out");
      const notice = document.querySelector("[data-expired-notice]");
      if (notice) notice.hidden = false;
    }
    tick();
    timerId = setInterval(tick, 1000);
  }

  // --- a new item on screen -------------------------------------------------------------
  let shownId = null; // the assignment on screen: a refusal shows the same one again

  function itemShown(moveFocus) {
    const field = document.querySelector("[data-workbench-form] input[name=assignment]");
    const id = field ? field.value : null;
    if (id !== shownId) { shownId = id; shownAt = performance.now(); }
    startTimer();
    if (moveFocus) {
      // The server answered: a message that it could not be reached is stale now.
      const pageError = document.getElementById("page-error");
      if (pageError) pageError.hidden = true;
      // Keep the keyboard user in place: the new item's heading, announced by readers.
      const title = document.getElementById("task-title");
      if (title) title.focus({ preventScroll: false });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    itemShown(false);
    const open = document.querySelector("[data-shortcuts-open]");
    if (open) open.hidden = false; // shortcuts exist only with this script
  });
  // htmx swaps #task itself (outerHTML); htmx:load fires on the new element.
  document.addEventListener("htmx:load", function (event) {
    if (event.detail.elt && event.detail.elt.id === "task") itemShown(true);
  });

  // Time on task, written just before the form is sent (capture: before htmx reads it).
  document.addEventListener("submit", function (event) {
    const target = event.target;
    if (!target.matches || !target.matches("[data-workbench-form]")) return;
    const field = target.querySelector("[data-time-on-task]");
    if (field) field.value = String(Math.round(performance.now() - shownAt));
  }, true);

  // --- the keyboard -------------------------------------------------------------------
  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    const tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select") return true;
    if (tag !== "input") return false;
    return ["radio", "checkbox", "button", "submit", "reset"].indexOf(el.type) === -1;
  }

  function shortcuts() { return document.getElementById("shortcuts"); }

  function openShortcuts() {
    const dialog = shortcuts();
    if (dialog && !dialog.open) dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) openShortcuts();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    const dialog = shortcuts();
    if (dialog && dialog.open) return; // Escape closes it (the browser's own handling)
    if (event.key === "?") { event.preventDefault(); openShortcuts(); return; }
    const current = form();
    if (!current) return;
    // A key can arrive between htmx's swap of a new item and its processing of the new
    // form: process it now (idempotent), so the submit below goes through htmx rather
    // than as a plain form post that leaves the page.
    if (window.htmx) window.htmx.process(current);
    if (/^[1-9]$/.test(event.key)) {
      const choice = current.querySelector('input[data-key="' + event.key + '"]');
      if (choice) { event.preventDefault(); choice.checked = true; choice.focus(); }
      return;
    }
    if (event.key === "Enter") {
      const tag = event.target.tagName ? event.target.tagName.toLowerCase() : "";
      if (tag === "button" || tag === "a" || tag === "summary") return; // their own action
      event.preventDefault();
      current.querySelector("[data-submit]").click();
      return;
    }
    if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      current.querySelector("[data-skip]").click();
    }
  });
})();
