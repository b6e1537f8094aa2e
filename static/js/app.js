// Small progressive enhancements. Everything works without this file.

// Elements with data-autosubmit submit their form on change (e.g. the business switcher).
document.addEventListener("change", (event) => {
  const el = event.target.closest("[data-autosubmit]");
  if (el && el.form) el.form.requestSubmit();
});

// Buttons with data-confirm ask before submitting.
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) event.preventDefault();
});

// Buttons with data-copy copy the text of the element it names.
document.addEventListener("click", async (event) => {
  const el = event.target.closest("[data-copy]");
  if (!el) return;
  const source = document.getElementById(el.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.textContent.trim());
    el.textContent = el.dataset.copied || "Copied";
  } catch {
    /* the text stays visible for manual copying */
  }
});

// Forms with data-csrf that lack a CSRF token get the page's (the body's data-hx-headers):
// forms inside chat messages, which are rendered once for every reader and pushed
// live, cannot carry a per-user token of their own.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-csrf]");
  if (!form || form.querySelector("input[name=csrfmiddlewaretoken]")) return;
  let token = "";
  try {
    token = JSON.parse(document.body.getAttribute("data-hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    /* no token: the server answers 403 */
  }
  const input = document.createElement("input");
  input.type = "hidden";
  input.name = "csrfmiddlewaretoken";
  input.value = token;
  form.appendChild(input);
}, true);

// A form sent back with errors: its error summary (data-autofocus, tabindex="-1") takes
// the focus, so a screen reader reads what went wrong instead of starting at the top.
// Again once the page has loaded: Chromium clears the focus when it scrolls to the
// address's #fragment (the wallet's form posts to #add-card). Also when HTMX swaps such
// a form in.
function focusErrorSummary(root) {
  const summary = root.querySelector("[data-autofocus]");
  if (summary && document.activeElement !== summary) summary.focus();
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => focusErrorSummary(document));
} else {
  focusErrorSummary(document);
}
window.addEventListener("load", () => setTimeout(() => focusErrorSummary(document), 0));
document.addEventListener("htmx:afterSettle", (event) => focusErrorSummary(event.target));
