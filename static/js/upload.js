// The upload page: a progress bar fed by htmx's upload progress events, and the form
// emptied after a successful upload (the next file starts from scratch).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const wrap = document.getElementById("upload-progress-wrap");
  const bar = document.getElementById("upload-progress");
  const percent = document.getElementById("upload-percent");

  form.addEventListener("htmx:beforeRequest", function () {
    bar.value = 0;
    percent.textContent = "";
    wrap.hidden = false;
    form.setAttribute("aria-busy", "true");
  });
  form.addEventListener("htmx:xhr:progress", function (event) {
    const detail = event.detail;
    if (!detail.lengthComputable || !detail.total) return;
    const value = Math.min(100, Math.round((detail.loaded / detail.total) * 100));
    if (value < bar.value) return; // the answer's download events follow the upload's
    bar.value = value;
    percent.textContent = value + " %";
  });
  form.addEventListener("htmx:afterRequest", function (event) {
    form.removeAttribute("aria-busy");
    if (event.detail.successful) form.reset();
  });
})();
