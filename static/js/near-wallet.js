// The browser's own NEAR wallet: the "browser account" kept in this browser, and the
// `data-near-send` buttons that pay from it. Include with
// {% include "payouts/partials/near_wallet_scripts.html" %} (or this file with `defer`).
//
// The browser account is {accountId, publicKey, secretKey} in localStorage under
// "nearlabel.browserAccount": an implicit account (hex of its ed25519 public key) whose
// secret key never leaves the browser. The NEAR code (keys, signatures, transactions)
// is static/vendor/near/near-lib.js, loaded only when something is signed.
//
// <button type="button" data-near-send data-receiver="ACCOUNT" data-amount="YOCTO"
//         data-tx-field="#id_tx_hash" data-form="#deposit-form"
//         data-msg-no-account="..." data-msg-balance="..." data-msg-rpc="..."
//         data-msg-sending="..." data-msg-sent="..." data-msg-failed="...">
// signs a transfer of YOCTO yoctoNEAR to ACCOUNT, sends it to the NEAR RPC of
// <meta name="near-rpc-url"> (waiting until it is final), writes its hash into the field
// and submits the form. Progress and errors go to the [data-near-status] element inside
// the button's closest [data-near-send-box] (else the page's first [data-near-status]),
// in the data-msg-* texts (translated by the template: see
// templates/payouts/partials/near_send_button.html, which writes them all).
(function () {
  "use strict";

  const STORAGE_KEY = "nearlabel.browserAccount";
  const script = document.currentScript;
  // The library sits beside this file's folder. A data-near-lib attribute on the <script>
  // (the partial sets it from {% static %}) wins, so hashed static names work too.
  const libUrl = (script && script.dataset.nearLib) ||
    new URL("../vendor/near/near-lib.js", script ? script.src : location.href).href;
  let libPromise = null;

  function meta(name) {
    const element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.content : "";
  }

  class WalletError extends Error {
    constructor(code, detail) {
      super(detail || code);
      this.code = code; // no_account, balance, rpc, failed
      this.detail = detail || "";
    }
  }

  const wallet = {
    WalletError: WalletError,
    networkId: function () { return meta("near-network-id"); },
    rpcUrl: function () { return meta("near-rpc-url"); },

    /** The NEAR library (an ES module), loaded on first use. */
    lib: function () {
      if (!libPromise) libPromise = import(libUrl);
      return libPromise;
    },

    /** The browser account, or null when this browser has none (or a damaged one). */
    account: function () {
      try {
        const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
        if (stored && typeof stored.accountId === "string" && typeof stored.secretKey === "string") {
          return stored;
        }
      } catch (e) { /* not JSON: treated as none */ }
      return null;
    },

    accountSave: function (account) {
      localStorage.setItem(STORAGE_KEY, JSON.stringify({
        accountId: account.accountId, publicKey: account.publicKey, secretKey: account.secretKey,
      }));
    },

    accountForget: function () { localStorage.removeItem(STORAGE_KEY); },

    /** One JSON-RPC call to the NEAR RPC; rejects with a WalletError("rpc") when it
     * cannot be reached, or an Error carrying the RPC's error object as `.rpc`. */
    rpc: async function (method, params) {
      let response;
      try {
        response = await fetch(wallet.rpcUrl(), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: "nearlabel", method: method, params: params }),
        });
      } catch (e) {
        throw new WalletError("rpc", String(e && e.message || e));
      }
      let body;
      try { body = await response.json(); } catch (e) { throw new WalletError("rpc", "HTTP " + response.status); }
      if (body.error) {
        const error = new Error((body.error.cause && body.error.cause.name) || body.error.name || "RPC error");
        error.rpc = body.error;
        throw error;
      }
      return body.result;
    },

    /** The account's balance in yoctoNEAR (a BigInt); 0n for an account not on chain yet. */
    balance: async function (accountId) {
      try {
        const view = await wallet.rpc("query", { request_type: "view_account", finality: "final", account_id: accountId });
        return BigInt(view.amount);
      } catch (e) {
        if (e.rpc && e.rpc.cause && e.rpc.cause.name === "UNKNOWN_ACCOUNT") return 0n;
        throw e;
      }
    },

    /**
     * Sign a transfer of `amount` yoctoNEAR (decimal string) from the browser account to
     * `receiverId`, send it and wait until it is final. Resolves to its hash (base58).
     * Rejects with WalletError: no_account, balance (not enough NEAR, or the account is not
     * on chain yet), rpc (the RPC cannot be reached) or failed (refused; detail says why).
     */
    send: async function (receiverId, amount) {
      const account = wallet.account();
      if (!account) throw new WalletError("no_account");
      const lib = await wallet.lib();
      const balance = await wallet.balance(account.accountId);
      if (balance < BigInt(amount)) throw new WalletError("balance");
      let accessKey;
      try {
        accessKey = await wallet.rpc("query", {
          request_type: "view_access_key", finality: "final",
          account_id: account.accountId, public_key: account.publicKey,
        });
      } catch (e) {
        if (e instanceof WalletError) throw e;
        throw new WalletError("failed", e.message);
      }
      if (accessKey.error || accessKey.nonce === undefined) {
        throw new WalletError("failed", accessKey.error || "no access key");
      }
      const block = await wallet.rpc("block", { finality: "final" });
      const signed = lib.transferSign({
        account: account,
        receiverId: receiverId,
        amount: amount,
        nonce: (BigInt(accessKey.nonce) + 1n).toString(),
        blockHash: block.header.hash,
      });
      let outcome;
      try {
        outcome = await wallet.rpc("send_tx", { signed_tx_base64: signed.signedBase64, wait_until: "FINAL" });
      } catch (e) {
        if (e instanceof WalletError) throw e;
        const invalid = e.rpc && e.rpc.data && e.rpc.data.TxExecutionError &&
          e.rpc.data.TxExecutionError.InvalidTxError;
        if (invalid && (invalid.NotEnoughBalance || invalid.LackBalanceForState)) throw new WalletError("balance");
        throw new WalletError("failed", e.message);
      }
      // A failure anywhere (the transaction or a receipt, e.g. a receiver that does not
      // exist) means the NEAR did not arrive, as payouts/near/client.py outcome_summary reads it.
      const statuses = [outcome && outcome.status].concat(
        ((outcome && outcome.receipts_outcome) || []).map(function (r) { return r.outcome && r.outcome.status; }));
      const failure = statuses.find(function (s) { return s && s.Failure; });
      if (failure) throw new WalletError("failed", JSON.stringify(failure.Failure));
      return signed.txHash;
    },
  };

  window.NearlabelWallet = wallet;

  // --- data-near-send buttons --------------------------------------------------------------

  function statusFor(button) {
    const box = button.closest("[data-near-send-box]");
    return (box && box.querySelector("[data-near-status]")) || document.querySelector("[data-near-status]");
  }

  function show(button, key, detail, isError) {
    const target = statusFor(button);
    if (!target) return;
    const text = button.dataset[key] || "";
    target.textContent = detail ? (text ? text + " " : "") + "(" + detail + ")" : text;
    target.classList.toggle("message-error", Boolean(isError));
    target.hidden = !target.textContent;
  }

  const MESSAGE = { no_account: "msgNoAccount", balance: "msgBalance", rpc: "msgRpc", failed: "msgFailed" };

  document.addEventListener("click", async function (event) {
    const button = event.target.closest("[data-near-send]");
    if (!button || button.getAttribute("aria-busy") === "true") return;
    const field = document.querySelector(button.dataset.txField);
    const form = document.querySelector(button.dataset.form);
    button.setAttribute("aria-busy", "true");
    button.disabled = true;
    show(button, "msgSending");
    try {
      const txHash = await wallet.send(button.dataset.receiver, button.dataset.amount);
      if (field) {
        field.value = txHash;
        field.dispatchEvent(new Event("input", { bubbles: true }));
        field.dispatchEvent(new Event("change", { bubbles: true }));
      }
      show(button, "msgSent", txHash);
      if (form) {
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    } catch (error) {
      const code = error instanceof WalletError ? error.code : "failed";
      show(button, MESSAGE[code] || "msgFailed", error.detail || (code === "failed" ? error.message : ""), true);
    } finally {
      button.removeAttribute("aria-busy");
      button.disabled = false;
    }
  });
})();
