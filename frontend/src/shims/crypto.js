// node's `crypto`, as far as the Wallet Selector bundle asks for it: HERE Wallet's
// randomBytes (a NEP-413 nonce). js-sha256 also names it, on node only. The browser's
// own generator (crypto.getRandomValues) is the source.
import { Buffer } from "./buffer.js";

export function randomBytes(size) {
  const out = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(size, offset + 65536)));
  }
  return out;
}
