// The printable card's "Print" button (insights/campaign_card.html): no inline script.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
