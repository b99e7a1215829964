// Copies (and, for the NEAR libraries, bundles) the front-end libraries into
// static/vendor/. The output is committed: production and CI never run npm.
// Run from frontend/: `npm ci && npm run vendor`; then update static/vendor/VENDORED.md.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  writeFileSync,
} from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

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

// --- NEAR -------------------------------------------------------------------------------
// Two ES modules, each loaded with import() only when a page needs it:
//   near/near-lib.js       keys, NEP-413 signatures and transfers (@near-js), ~65 kB;
//   near/near-selector.js  NEAR Wallet Selector, its modal (React) and three wallets, ~2 MB,
//                          loaded when someone clicks "Connect a wallet" (testnet/mainnet).
// Each gets a <name>.LICENSES.txt with the licence of every package bundled into it.
const near = resolve(vendor, "near");
mkdirSync(near, { recursive: true });

const shims = resolve(here, "src", "shims");
const modules = realpathSync(resolve(here, "node_modules"));
const common = {
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: true,
  legalComments: "none", // collected per package into <name>.LICENSES.txt instead
  metafile: true,
  logLevel: "warning",
  // @near-js/crypto also supports secp256k1 keys through the `secp256k1` package (elliptic
  // and bn.js, ~140 kB); the pages use ed25519 keys only, so that package is left out.
  alias: { secp256k1: resolve(shims, "secp256k1.js") },
};

async function bundle(name, entry, extra = {}) {
  const outfile = resolve(near, `${name}.js`);
  const result = await esbuild.build({ ...common, ...extra, entryPoints: [entry], outfile });
  writeFileSync(resolve(near, `${name}.LICENSES.txt`), licences(result.metafile, name));
}

// The packages whose files went into a bundle: name@version, licence and licence text.
function licences(metafile, name) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const path = realpathSync(resolve(here, input));
    const parts = path.split(sep);
    const at = parts.lastIndexOf("node_modules");
    if (at < 0) continue;
    const scoped = parts[at + 1].startsWith("@");
    const root = parts.slice(0, at + (scoped ? 3 : 2)).join(sep);
    if (!packages.has(root)) packages.set(root, JSON.parse(readFileSync(resolve(root, "package.json"), "utf8")));
  }
  const seen = new Set();
  const sections = [];
  const sorted = [...packages.entries()].sort((a, b) => a[1].name.localeCompare(b[1].name) || a[1].version.localeCompare(b[1].version));
  for (const [root, pkg] of sorted) {
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const files = readdirSync(root).filter((f) => /^(licen[cs]e|copying)/i.test(f)).sort();
    const texts = files.map((f) => readFileSync(resolve(root, f), "utf8").trim());
    const repository = typeof pkg.repository === "string" ? pkg.repository : pkg.repository?.url;
    sections.push(
      [
        `${key}  licence: ${pkg.license || "none declared in its package.json"}`,
        repository ? `source: ${repository}` : `path: node_modules/${relative(modules, root)}`,
        ...(texts.length ? texts : ["(the package ships no licence file)"]),
      ].join("\n"),
    );
  }
  return `Packages bundled into static/vendor/near/${name}.js by frontend/vendor.mjs\n\n${sections.join("\n\n" + "-".repeat(78) + "\n\n")}\n`;
}

await bundle("near-lib", resolve(here, "src", "near-lib.js"));
await bundle("near-selector", resolve(here, "src", "near-selector.js"), {
  // Node's globals the bundled code reads: React's mode, near-api-js's default finality.
  define: {
    "process.env.NODE_ENV": '"production"',
    "process.env.DEFAULT_FINALITY": "undefined",
    global: "globalThis",
  },
  // The wallet modules expect node's buffer, crypto and util (see src/shims/buffer.js).
  alias: {
    ...common.alias,
    buffer: resolve(shims, "buffer.js"),
    crypto: resolve(shims, "crypto.js"),
    util: resolve(shims, "util.js"),
  },
  inject: [resolve(shims, "buffer.js")],
});

// The modal's stylesheet, without its Google Fonts @import (no CDN: system fonts instead).
const css = readFileSync(resolve(here, "node_modules/@near-wallet-selector/modal-ui/styles.css"), "utf8");
const withoutFonts = css.replace(/^@import url\("https:\/\/fonts\.googleapis\.com[^"]*"\);\n/m, "");
if (withoutFonts.length !== css.length - css.split("\n")[0].length - 1 || /@import|display=swap/.test(withoutFonts)) {
  throw new Error("modal-ui/styles.css still imports something: check it");
}
writeFileSync(resolve(near, "modal-ui.css"), withoutFonts);

if (!existsSync(resolve(near, "near-lib.js"))) throw new Error("near-lib.js was not built");
