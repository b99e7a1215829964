// "Sign in with NEAR" on the sign-in page, and "link a NEAR account" on the account page:
// the browser account (made here, shown once to save, or restored from a pasted key) or a
// wallet through NEAR Wallet Selector signs the server's NEP-413 challenge, and the page
// posts the proof. Needs static/js/near-wallet.js first (NearlabelWallet).
//
// The box is [data-near-signin] with data-mode "signin" (POST data-verify-url, session
// mode, then go to data-next) or "link" (POST data-link-url, then reload). Texts come
// translated from the page: the JSON of <script id="near-messages" type="application/json">.
(function () {
  "use strict";

  const box = document.querySelector("[data-near-signin]");
  if (!box || !window.NearlabelWallet) return;
  const wallet = window.NearlabelWallet;
  const messages = JSON.parse(document.getElementById("near-messages").textContent);
  const status = box.querySelector("[data-near-status]");
  const part = function (name) { return box.querySelector("[data-near-" + name + "]"); };

  function say(text, isError) {
    status.textContent = text || "";
    status.hidden = !text;
    status.classList.toggle("message-error", Boolean(isError));
    status.classList.toggle("message", Boolean(text));
  }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  async function postJson(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, data: { error: { code: "network", message: messages.offline } } };
    }
    let data = null;
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    return { ok: response.ok, status: response.status, data: data };
  }

  function refusal(result) {
    const error = result.data && result.data.error;
    if (error) return error.message + " [" + error.code + "]";
    return messages.failed + " [HTTP " + result.status + "]";
  }

  async function challenge() {
    const result = await postJson(box.dataset.challengeUrl);
    if (!result.ok) throw new Error(refusal(result));
    return result.data;
  }

  // Post a proof: sign in (session) or link it to the signed-in user.
  async function submitProof(proof) {
    if (box.dataset.mode === "link") return postJson(box.dataset.linkUrl, proof);
    return postJson(box.dataset.verifyUrl, Object.assign({ mode: "session" }, proof));
  }

  function done() {
    say(box.dataset.mode === "link" ? messages.linked : messages.signedIn);
    if (box.dataset.mode === "link") location.reload();
    else location.assign(box.dataset.next || "/");
  }

  // --- the browser account ------------------------------------------------------------------

  function showBrowserAccount() {
    const account = wallet.account();
    const existing = part("existing");
    if (existing) existing.hidden = !account;
    if (account) part("account-id").textContent = account.accountId;
    // On the account page, the browser's account may be the one already linked and proven.
    const linkedHere = Boolean(account && box.dataset.linked && account.accountId === box.dataset.linked);
    const note = part("linked-here");
    if (note) note.hidden = !linkedHere;
    const use = part("use");
    if (use) use.hidden = linkedHere;
    const create = part("create");
    if (create) create.hidden = Boolean(account);
  }

  async function signWithBrowserAccount() {
    const account = wallet.account();
    if (!account) { say(messages.noAccount, true); return; }
    say(messages.signing);
    try {
      const lib = await wallet.lib();
      const proof = lib.nep413Sign({ account: account, challenge: await challenge() });
      const result = await submitProof(proof);
      if (!result.ok) { say(refusal(result), true); return; }
      done();
    } catch (e) {
      say(e.message || messages.failed, true);
    }
  }

  let unsaved = null; // the account made on this page, until its key is saved

  async function createBrowserAccount() {
    const lib = await wallet.lib();
    unsaved = lib.accountCreate();
    part("new-key").value = unsaved.secretKey;
    part("new-account-id").textContent = unsaved.accountId;
    part("saved").checked = false;
    part("continue").disabled = true;
    part("save").hidden = false;
    part("start").hidden = true;
    part("new-key").focus();
    part("new-key").select();
  }

  function continueAfterSaving() {
    if (!unsaved || !part("saved").checked) return;
    wallet.accountSave(unsaved);
    unsaved = null;
    part("new-key").value = ""; // shown once: gone from the page now
    part("save").hidden = true;
    part("start").hidden = false;
    showBrowserAccount();
    signWithBrowserAccount();
  }

  async function restoreBrowserAccount() {
    const field = part("restore-key");
    try {
      const lib = await wallet.lib();
      const account = lib.accountFromSecretKey(field.value);
      wallet.accountSave(account);
      field.value = "";
      showBrowserAccount();
      signWithBrowserAccount();
    } catch (e) {
      say(messages.invalidKey, true);
      field.focus();
    }
  }

  // --- a wallet (NEAR Wallet Selector) --------------------------------------------------------

  function stylesheet(href) {
    if (document.querySelector('link[href="' + href + '"]')) return;
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  async function signWithWallet(button) {
    say(messages.walletLoading);
    button.disabled = true;
    try {
      stylesheet(button.dataset.selectorCss);
      const selector = await import(button.dataset.selectorUrl);
      const callbackUrl = location.origin + location.pathname;
      const options = {
        networkId: wallet.networkId(),
        nodeUrl: wallet.rpcUrl(),
        description: messages.walletDescription,
        challenge: await challenge(),
        callbackUrl: callbackUrl,
      };
      say(messages.walletWaiting);
      let proof = await selector.walletSignMessage(options);
      let result = await submitProof(proof);
      const code = result.data && result.data.error && result.data.error.code;
      if (!result.ok && code === "auth_signature_invalid" && proof.callback_url) {
        // Wallets that sign in a pop-up leave callbackUrl out of what they sign (NEP-413
        // makes it optional): the same signature, checked without it. The nonce is still
        // unused (a refused proof does not use it).
        proof = Object.assign({}, proof, { callback_url: null });
        result = await submitProof(proof);
      }
      if (!result.ok) { say(refusal(result), true); return; }
      done();
    } catch (e) {
      say(e && e.code === "wallet_closed" ? messages.walletClosed : (messages.failed + " (" + (e && e.message || e) + ")"), true);
    } finally {
      button.disabled = false;
    }
  }

  // --- wiring -------------------------------------------------------------------------------

  box.addEventListener("click", function (event) {
    const target = event.target.closest("button");
    if (!target || !box.contains(target)) return;
    if (target.hasAttribute("data-near-use")) signWithBrowserAccount();
    else if (target.hasAttribute("data-near-create-button")) createBrowserAccount().catch(function (e) { say(e.message, true); });
    else if (target.hasAttribute("data-near-continue")) continueAfterSaving();
    else if (target.hasAttribute("data-near-restore")) restoreBrowserAccount();
    else if (target.hasAttribute("data-near-wallet-connect")) signWithWallet(target);
  });
  box.addEventListener("change", function (event) {
    if (event.target.matches("[data-near-saved]")) part("continue").disabled = !event.target.checked;
  });

  showBrowserAccount();
})();
