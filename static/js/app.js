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
