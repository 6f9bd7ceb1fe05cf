// Annotate page: keys 1-9 pick a choice, "c" means cannot tell (the buttons carry data-key).
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const button = document.querySelector(`#label-form button[data-key="${event.key.toLowerCase()}"]`);
  if (button && !button.disabled) {
    document.querySelectorAll("#label-form button").forEach((b) => { b.disabled = true; });
    button.disabled = false;
    button.click();
  }
});
