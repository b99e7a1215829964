// Stands in for the `secp256k1` package in the bundles: the pages make and use ed25519
// keys only. Touching it (a secp256k1 key) fails loudly instead of silently.
function unsupported() {
  throw new Error("secp256k1 keys are not supported on these pages");
}

// Named, then exported as default: esbuild turns `export default <expression>` of a module
// that CommonJS code requires into an invalid `var default`.
const secp256k1 = new Proxy({}, { get: unsupported });
export { secp256k1 as default };
