// The whole-lesson pages: a running job's page follows /api/jobs/<id> every two seconds
// (frames done of the total, elapsed, time left) and reloads once the job has ended, to show
// its result or reason; the upload form says it is uploading.
"use strict";
(() => {
  const form = document.getElementById("job-form");
  if (form) {
    form.addEventListener("submit", () => {
      document.getElementById("uploading").hidden = false;
      document.getElementById("job-button").disabled = true;
    });
  }
  const box = document.getElementById("job");
  const ENDED = ["done", "failed", "cancelled", "deleted"];
  if (!box || ENDED.includes(box.dataset.state)) return;
  const STAGES = {waiting: "Waiting for the job before it", starting: "Starting",
                  analysing: "Analysing frames", drawing: "Drawing the annotated video",
                  saving: "Saving the result"};
  const set = (id, text) => { const el = document.getElementById(id); if (el) el.textContent = text; };
  const duration = (s) => {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
    return m ? `${m} min ${String(sec).padStart(2, "0")} s` : `${sec} s`;
  };
  const update = async () => {
    let job;
    try {
      const answer = await fetch(`/api/jobs/${box.dataset.job}`, {cache: "no-store"});
      if (!answer.ok) throw new Error(answer.status);
      job = await answer.json();
    } catch (error) {
      set("job-connection", "cannot reach the server; retrying…");
      return setTimeout(update, 4000);
    }
    if (job.state !== box.dataset.state && ENDED.includes(job.state)) {
      return location.reload();
    }
    set("job-connection", "");
    box.dataset.state = job.state;
    set("job-state", job.state);
    set("job-stage", STAGES[job.stage] || job.stage);
    set("job-done", job.done);
    set("job-total", job.total ?? "?");
    set("job-elapsed", duration(job.elapsed_s));
    set("job-eta", duration(job.eta_s));
    const bar = document.getElementById("job-progress");
    if (bar && job.total) { bar.max = job.total; bar.value = job.done; }
    if (job.cancel_requested) {
      const button = document.getElementById("cancel-button");
      if (button) { button.disabled = true; button.textContent = "Cancelling…"; }
    }
    setTimeout(update, 2000);
  };
  setTimeout(update, 2000);
})();
