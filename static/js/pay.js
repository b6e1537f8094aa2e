// "Pay with fingerprint" on an order's page: ask the server for a WebAuthn challenge
// bound to this payment, let the device confirm, then submit the pay form with the
// assertion. Without this script the PIN form works on its own.
(() => {
  "use strict";
  const form = document.getElementById("pay-form");
  const button = document.getElementById("pay-fingerprint");
  if (!form || !button || !window.conversaWebAuthn) return;
  const status = document.getElementById("pay-status");
  const say = (text) => {
    if (!status) return;
    status.hidden = !text;
    status.textContent = text || "";
  };
  if (!window.conversaWebAuthn.supported()) {
    button.disabled = true;
    say(form.dataset.tUnsupported);
    return;
  }
  button.addEventListener("click", async () => {
    const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    button.disabled = true;
    say("");
    try {
      // Fields the challenge is bound to (e.g. the amount typed on "Send money").
      const body = {};
      form.querySelectorAll("[data-fingerprint-bind]").forEach((input) => {
        body[input.dataset.fingerprintBind] = input.value;
      });
      const data = await window.conversaWebAuthn.postJSON(form.dataset.fingerprintUrl, body, csrf);
      const assertion = await window.conversaWebAuthn.getAssertion(data.options);
      form.querySelector("input[name=webauthn]").value = JSON.stringify(assertion);
      form.querySelector("input[name=confirmation]").value = "webauthn";
      const pin = form.querySelector("input[name=pin]");
      if (pin) pin.value = "";
      form.submit();
    } catch (error) {
      button.disabled = false;
      say((error && error.message) || form.dataset.tFailed);
    }
  });
})();
