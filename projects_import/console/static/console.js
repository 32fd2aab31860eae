// The console works without this file. With it: "select all" boxes tick every row of their
// table, filter forms leave empty and default fields out of the address, a bulk button waits
// for a selection, and tapping a time shows its UTC instant (touch screens have no hover).
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
  for (const form of document.querySelectorAll("form#bulk")) {
    const boxes = [...form.querySelectorAll('input[name="id"]')];
    const buttons = [...form.querySelectorAll("button[data-needs-selection]:not([disabled])")];
    const update = () => {
      const any = boxes.some((box) => box.checked);
      for (const button of buttons) button.disabled = !any;
    };
    form.addEventListener("change", update);
    update();
  }
  for (const time of document.querySelectorAll("time[title]")) {
    time.tabIndex = 0;
    time.setAttribute("role", "button");
    time.addEventListener("click", () => {
      const shown = time.nextElementSibling;
      if (shown && shown.classList.contains("utc")) { shown.remove(); return; }
      const utc = document.createElement("span");
      utc.className = "utc";
      utc.textContent = ` (${time.title})`;
      time.after(utc);
    });
  }
});
