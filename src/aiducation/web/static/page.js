// Small behaviours of every page, here rather than inline: the Content-Security-Policy allows
// scripts from this server only. <a data-back> goes back; <a data-src-of=ID> downloads the
// data: URL of element ID (the annotated clip is in the page once, not twice).
"use strict";
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back], a[data-src-of]");
  if (!link) return;
  if (link.dataset.srcOf) {
    link.href = document.getElementById(link.dataset.srcOf).src;
  } else if (history.length > 1) {
    event.preventDefault();
    history.back();
  }
});
