// The Pix panel of an order: copy the "Pix Copia e Cola" code, count down to the
// charge's expiry, and poll the order until the Pix arrives (then back to the chat,
// where the card and the receipt are already live).
(function () {
  "use strict";
  const panel = document.getElementById("pix-panel");
  if (!panel) return;
  const status = document.getElementById("pix-status");
  const copied = document.getElementById("pix-copied");
  const button = document.getElementById("pix-copy");
  const field = document.getElementById("pix-code");
  const expiry = document.getElementById("pix-expiry");

  async function copy() {
    field.select();
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(field.value);
      } else if (!document.execCommand("copy")) {
        throw new Error("copy refused");
      }
      copied.textContent = button.dataset.tCopied;
      button.textContent = button.dataset.tCopied;
    } catch (error) {
      copied.textContent = button.dataset.tFailed;
    }
  }
  button.addEventListener("click", copy);

  const ends = Date.parse(expiry.getAttribute("datetime"));
  function tick() {
    const left = Math.max(0, Math.floor((ends - Date.now()) / 1000));
    if (left <= 0) {
      expiry.textContent = panel.dataset.tExpired;
      return false;
    }
    const h = Math.floor(left / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = String(left % 60).padStart(2, "0");
    const time = h > 0 ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
    expiry.textContent = panel.dataset.tLeft.replace("%(time)s", time);
    return true;
  }
  tick();
  const timer = window.setInterval(function () { if (!tick()) window.clearInterval(timer); }, 1000);

  async function poll() {
    try {
      const response = await fetch(panel.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        if (data.paid || data.order !== "pending") {
          status.textContent = panel.dataset.tPaid;
          window.location.assign(data.chat_url || panel.dataset.chatUrl);
          return;
        }
      }
    } catch (error) {
      // Offline for a moment: the next poll tries again.
    }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
