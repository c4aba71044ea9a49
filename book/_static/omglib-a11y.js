// Accessibility mends for what the theme and Sphinx extensions write (the axe-core gate,
// tests/site/axe.mjs): every fix here names the rule it answers.
// Run once the page is parsed and again once it has loaded (the theme's own scripts may write
// its buttons after the first pass); the gate waits for data-a11y-mended on <html>.
function mend() {
  // scrollable-region-focusable: a wide table scrolls inside its box, so a keyboard must reach it
  for (const table of document.querySelectorAll("article table, .cell_output table")) {
    if (!table.hasAttribute("tabindex")) table.setAttribute("tabindex", "0");
  }
  // label-content-name-mismatch: an accessible name must contain the control's visible text
  for (const control of document.querySelectorAll(".search-button-field, details > summary[aria-label]")) {
    const visible = control.innerText.replace(/\s+/g, " ").trim();
    if (visible) control.setAttribute("aria-label", visible);
  }
  for (const icon of document.querySelectorAll(".theme-switch-button i")) {
    icon.setAttribute("aria-hidden", "true"); // decorative: the button's own label names it
    icon.removeAttribute("title");
  }
  // aria-required-children / aria-deprecated-role: sphinxcontrib-bibtex's list of references
  for (const entry of document.querySelectorAll(".citation-list > [role='doc-biblioentry']")) {
    entry.setAttribute("role", "listitem");
  }
}
document.addEventListener("DOMContentLoaded", mend);
window.addEventListener("load", () => {
  mend();
  document.documentElement.dataset.a11yMended = "true";
});
