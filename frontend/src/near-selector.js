// NEAR Wallet Selector (https://github.com/near/wallet-selector) with its modal and two
// wallets, MyNearWallet and HERE, for "Sign in with NEAR" on testnet and mainnet (Meteor
// is left out: its SDK, @meteorwallet/sdk, declares no licence). Bundled by `npm run
// vendor` into static/vendor/near/near-selector.js (an ES module of about 1.1 MB: the page
// loads it with import() only when someone clicks "Connect a wallet").
//
// One function: walletSignMessage shows the modal (unless a wallet is already connected),
// waits for the person to connect one, and asks it to sign the server's NEP-413 challenge.
// The page posts what it returns to the server, which checks it (payouts/services/auth.py).
import { setupWalletSelector } from "@near-wallet-selector/core";
import { setupHereWallet } from "@near-wallet-selector/here-wallet";
import { setupModal } from "@near-wallet-selector/modal-ui";
import { setupMyNearWallet } from "@near-wallet-selector/my-near-wallet";
import { Buffer } from "./shims/buffer.js";

let opened = null; // one selector per page: the library refuses a second

function base64ToBytes(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/**
 * The selector and its modal for `networkId` ("testnet" or "mainnet"). The wallets read
 * the chain through `nodeUrl`, the RPC the page already talks to (settings.NEAR_RPC_URL),
 * so the page's CSP need not allow each wallet's own RPC.
 */
export async function walletSelectorOpen({ networkId, nodeUrl, description }) {
  if (opened) return opened;
  const selector = await setupWalletSelector({
    network: { networkId, nodeUrl, helperUrl: "", explorerUrl: "", indexerUrl: "" },
    modules: [
      setupMyNearWallet(),
      setupHereWallet({ walletOptions: { networkId, nodeUrl } }),
    ],
  });
  const modal = setupModal(selector, { description, theme: "light" });
  opened = { selector, modal };
  return opened;
}

function connected(selector, modal) {
  if (selector.isSignedIn()) return Promise.resolve(selector.store.getState().selectedWalletId);
  return new Promise((resolve, reject) => {
    const signedIn = selector.on("signedIn", (event) => {
      signedIn.remove();
      hidden.remove();
      resolve(event.walletId);
    });
    const hidden = modal.on("onHide", ({ hideReason }) => {
      if (hideReason !== "user-triggered") return; // the wallet took over (a redirect)
      signedIn.remove();
      hidden.remove();
      reject(Object.assign(new Error("closed"), { code: "wallet_closed" }));
    });
    modal.show();
  });
}

/**
 * Connect a wallet (the modal) and have it sign `challenge` ({nonce: base64, recipient,
 * message}, from POST /api/auth/near/challenge). Resolves to the proof's fields:
 * {account_id, public_key, signature, message, nonce, recipient, callback_url}.
 *
 * `callbackUrl` is given to every wallet and NEP-413 makes it part of what is signed;
 * wallets that sign in a pop-up ignore it, so the caller retries without it when the
 * server answers auth_signature_invalid (see static/js/near-signin.js).
 */
export async function walletSignMessage({ networkId, nodeUrl, description, challenge, callbackUrl }) {
  const { selector, modal } = await walletSelectorOpen({ networkId, nodeUrl, description });
  const walletId = await connected(selector, modal);
  const wallet = await selector.wallet(walletId);
  const signed = await wallet.signMessage({
    message: challenge.message,
    recipient: challenge.recipient,
    nonce: Buffer.from(base64ToBytes(challenge.nonce)),
    callbackUrl,
  });
  if (!signed || !signed.signature) {
    // A wallet that redirects away answers after the page reloads; nothing to post now.
    throw Object.assign(new Error("no signature"), { code: "wallet_no_signature" });
  }
  return {
    account_id: signed.accountId,
    public_key: signed.publicKey,
    signature: signed.signature,
    message: challenge.message,
    nonce: challenge.nonce,
    recipient: challenge.recipient,
    callback_url: callbackUrl || null,
  };
}
