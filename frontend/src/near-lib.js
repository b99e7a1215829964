// The NEAR primitives the pages need, from the maintained @near-js libraries: an ed25519
// key made in the browser, a NEP-413 signature of a sign-in challenge, and a signed NEAR
// transfer. Bundled by `npm run vendor` into static/vendor/near/near-lib.js (an ES
// module, loaded with import() by static/js/near-wallet.js only when a page needs it).
//
// No DOM, no network, no storage here: pure functions, so the tests can run this very
// bundle under node and check its bytes against payouts/near (tests/payouts/test_near_lib_js.py).
import { KeyPair, KeyPairEd25519, KeyType, PublicKey } from "@near-js/crypto";
import {
  Signature,
  SignedTransaction,
  actionCreators,
  createTransaction,
  encodeTransaction,
} from "@near-js/transactions";
import { baseDecode, baseEncode } from "@near-js/utils";
import { sha256 } from "@noble/hashes/sha2";

// NEP-413 (https://github.com/near/NEPs/blob/master/neps/nep-0413.md): a wallet signs the
// sha256 of this u32 tag followed by the borsh of {message, nonce, recipient, callbackUrl}.
// 2**31 + 413: no borsh Transaction can start with it. payouts/near/nep413.py is the
// server's side of the same bytes.
export const NEP413_TAG = 2 ** 31 + 413;
const NONCE_LENGTH = 32;

function bytesToBase64(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function u32(value) {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true); // borsh: little-endian
  return bytes;
}

function borshString(text) {
  const raw = new TextEncoder().encode(text);
  return concat([u32(raw.length), raw]);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A browser account: the key's implicit account (lowercase hex of the public key). */
function accountOf(keyPair) {
  const publicKey = keyPair.getPublicKey();
  return {
    accountId: bytesToHex(publicKey.data),
    publicKey: publicKey.toString(),
    secretKey: keyPair.toString(),
  };
}

/** A new random ed25519 key and its implicit account: {accountId, publicKey, secretKey}. */
export function accountCreate() {
  return accountOf(KeyPairEd25519.fromRandom());
}

/**
 * The browser account of a secret key as NEAR CLI and wallets print it
 * ("ed25519:<base58 of 64 bytes>", or of the 32-byte seed). Throws on anything else.
 */
export function accountFromSecretKey(secretKey) {
  const text = String(secretKey || "").trim();
  if (!text.startsWith("ed25519:")) throw new Error("not an ed25519 secret key");
  const raw = baseDecode(text.slice("ed25519:".length));
  if (raw.length !== 64 && raw.length !== 32) throw new Error("not an ed25519 secret key");
  const keyPair = KeyPair.fromString(text);
  if (raw.length === 64) {
    // The second half of a 64-byte key is its public key: refuse a key that contradicts it.
    const stated = raw.slice(32);
    const derived = keyPair.getPublicKey().data;
    if (stated.some((byte, i) => byte !== derived[i])) throw new Error("inconsistent secret key");
    return accountOf(keyPair);
  }
  // A bare seed: the canonical 64-byte form, as accountCreate stores it.
  return accountOf(new KeyPairEd25519(baseEncode(concat([raw, keyPair.getPublicKey().data]))));
}

/** The exact bytes whose sha256 a NEP-413 signature signs (see payouts/near/nep413.py). */
export function nep413Payload({ message, nonce, recipient, callbackUrl = null }) {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_LENGTH) {
    throw new Error("the NEP-413 nonce must be 32 bytes");
  }
  const callback =
    callbackUrl === null || callbackUrl === undefined
      ? new Uint8Array([0])
      : concat([new Uint8Array([1]), borshString(callbackUrl)]);
  return concat([u32(NEP413_TAG), borshString(message), nonce, borshString(recipient), callback]);
}

/**
 * Sign a challenge of POST /api/auth/near/challenge ({nonce: base64, recipient, message})
 * with a browser account. Returns the body POST /api/auth/near/verify and POST
 * /api/me/near-account take (payouts/api/serializers.py NearProofSerializer).
 */
export function nep413Sign({ account, challenge, callbackUrl = null }) {
  const keyPair = KeyPair.fromString(account.secretKey);
  const nonce = base64ToBytes(challenge.nonce);
  const payload = nep413Payload({
    message: challenge.message,
    nonce,
    recipient: challenge.recipient,
    callbackUrl,
  });
  const { signature } = keyPair.sign(sha256(payload));
  const body = {
    account_id: account.accountId,
    public_key: keyPair.getPublicKey().toString(),
    signature: bytesToBase64(signature),
    message: challenge.message,
    nonce: challenge.nonce,
    recipient: challenge.recipient,
  };
  if (callbackUrl !== null && callbackUrl !== undefined) body.callback_url = callbackUrl;
  return body;
}

/**
 * A signed one-action Transfer of `amount` yoctoNEAR (a decimal string) from the account
 * to `receiverId`, with the access key's next `nonce` (a decimal string) and a recent
 * `blockHash` (base58). Returns {signedBase64, txHash}: send_tx's `signed_tx_base64` and
 * the transaction's hash (base58 of the sha256 of the borsh Transaction), as nearcore and
 * payouts/near/keys.py transfer_sign compute them.
 */
export function transferSign({ account, receiverId, amount, nonce, blockHash }) {
  const keyPair = KeyPair.fromString(account.secretKey);
  const publicKey = keyPair.getPublicKey();
  if (publicKey.keyType !== KeyType.ED25519) throw new Error("not an ed25519 key");
  const transaction = createTransaction(
    account.accountId,
    PublicKey.from(publicKey.toString()),
    receiverId,
    BigInt(nonce),
    [actionCreators.transfer(BigInt(amount))],
    baseDecode(blockHash),
  );
  const hash = sha256(encodeTransaction(transaction));
  const { signature } = keyPair.sign(hash);
  const signed = new SignedTransaction({
    transaction,
    signature: new Signature({ keyType: KeyType.ED25519, data: signature }),
  });
  return { signedBase64: bytesToBase64(signed.encode()), txHash: baseEncode(hash) };
}
