// Stands in for the `secp256k1` package in the bundles: the pages make and use ed25519
// keys only. Touching it (a secp256k1 key) fails loudly instead of silently.
function unsupported() {
  throw new Error("secp256k1 keys are not supported on these pages");
}

export default new Proxy({}, { get: unsupported });
