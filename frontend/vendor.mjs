// Copies (and, for the NEAR libraries, bundles) the front-end libraries into
// static/vendor/. The output is committed: production and CI never run npm.
// Run from frontend/: `npm ci && npm run vendor`; then update static/vendor/VENDORED.md.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = resolve(here, "..", "static", "vendor");

function copy(from, to) {
  const target = resolve(vendor, to);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(resolve(here, "node_modules", from), target);
}

copy("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js");
copy("htmx.org/LICENSE", "htmx/LICENSE");
copy("chart.js/dist/chart.umd.min.js", "chartjs/chart.umd.min.js");
copy("chart.js/LICENSE.md", "chartjs/LICENSE.md");
