// The console works without this file. With it: "select all" boxes tick every row of their
// table, and filter forms leave empty and default fields out of the address.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`);
    all.hidden = false;
    all.closest("[hidden]")?.removeAttribute("hidden");
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
  }
  for (const form of document.querySelectorAll("form.filters[method=get]")) {
    form.addEventListener("submit", () => {
      for (const field of form.elements) {
        if (!field.name || field.type === "submit") continue;
        if (field.value === "" || field.value === field.dataset.default) field.disabled = true;
      }
      // re-enable after the browser has read the form, so Back shows it as it was
      setTimeout(() => { for (const field of form.elements) field.disabled = false; }, 0);
    });
  }
});
