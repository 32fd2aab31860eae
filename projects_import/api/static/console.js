// The console works without this file; with it, "select all" boxes tick every row of their table.
document.addEventListener("DOMContentLoaded", () => {
  for (const all of document.querySelectorAll("input[data-select-all]")) {
    const boxes = () => document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`);
    all.hidden = false;
    all.closest("[hidden]")?.removeAttribute("hidden");
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
  }
});
