// Excluding a student on a video's result page (issue 31: a speaker, a visitor), in the page:
// the server keeps nothing, so the per-face rows come with the page as JSON
// (<script type="application/json" id="result-data">) and everything the page counts is
// recomputed from them without the excluded tracks, as `aiducation analyze --exclude` does:
// faces seen, faces answered and not, each state's count and share (table and bar chart), the
// number of students, and the CSV/JSON downloads. Without JavaScript the page shows all.
"use strict";
(() => {
  const block = document.getElementById("result-data");
  if (!block) return;
  const data = JSON.parse(block.textContent);
  const original = data.payload;
  const classes = original.classes;
  const UNCERTAIN = "Uncertain";
  const excluded = new Set();
  const originalHrefs = new Map();
  document.querySelectorAll("a.download[data-name]").forEach((a) => originalHrefs.set(a.dataset.name, a.href));
  document.querySelectorAll(".exclude-col").forEach((el) => { el.hidden = false; });

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const percent = (share) => `${Math.round(100 * share)}%`;
  const round4 = (x) => Math.round(x * 10000) / 10000;

  // The summary of the faces kept, as aiducation.inference.results.summarize writes it.
  function summarize(faces) {
    const s = original.summary;
    const counts = Object.fromEntries(classes.map((c) => [c, 0]));
    const reasons = {};
    for (const face of faces) {
      if (face.state in counts) counts[face.state] += 1;
      else if (face.state === UNCERTAIN) reasons[face.reason] = (reasons[face.reason] || 0) + 1;
    }
    const answered = classes.reduce((sum, c) => sum + counts[c], 0);
    const dropped = original.faces.filter((f) => excluded.has(f.face_id));
    const perFrame = s.per_frame.map((row) => {
      const out = { ...row };
      for (const face of dropped) {
        if (face.frame !== row.frame || face.source !== row.source) continue;
        out.faces -= 1;
        if (face.state in counts) out[face.state] -= 1;
        else if (face.state === UNCERTAIN) out.uncertain -= 1;
      }
      return out;
    });
    const perMinute = (s.per_minute || []).map((row) => {
      const inMinute = faces.filter((f) => Math.floor((f.time || 0) / 60) === row.minute && f.state in counts);
      const out = { minute: row.minute, frames: row.frames, faces: inMinute.length };
      for (const c of classes) {
        const n = inMinute.filter((f) => f.state === c).length;
        out[`share_${c}`] = inMinute.length ? round4(n / inMinute.length) : 0;
      }
      return out;
    });
    const sortedReasons = Object.fromEntries(Object.keys(reasons).sort().map((r) => [r, reasons[r]]));
    return {
      ...s,
      faces_seen: faces.length,
      faces_answered: answered,
      uncertain: sortedReasons,
      state_counts: counts,
      state_shares: Object.fromEntries(classes.map((c) => [c, answered ? round4(counts[c] / answered) : 0])),
      per_frame: perFrame,
      ...(s.students !== undefined ? { students: s.students - excluded.size } : {}),
      ...(s.per_minute ? { per_minute: perMinute } : {}),
      excluded_tracks: [...excluded].sort((a, b) => a - b),
    };
  }

  // CSV as aiducation.csvfiles.to_csv writes it: formula-like text prefixed with ', quoted when needed.
  function cell(value) {
    if (value === null || value === undefined) return "";
    let text = String(value);
    if (typeof value === "string" && text &&
        ("=+-@\t\r".includes(text[0]) || (text[0] === "'" && text.length > 1 && "=+-@\t\r'".includes(text[1])))) {
      text = `'${text}`;
    }
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }
  function csv(columns, rows) {
    const lines = [columns.map(cell).join(",")];
    for (const row of rows) lines.push(columns.map((c) => cell(row[c])).join(","));
    return `${lines.join("\n")}\n`;
  }
  // a data: URL, as the server's downloads (the page's CSP lets scripts fetch nothing but this server)
  const dataUrl = (text, type) => `data:${type};charset=utf-8,${encodeURIComponent(text)}`;

  function render() {
    const faces = original.faces.filter((f) => !excluded.has(f.face_id));
    const students = original.students.filter((s) => !excluded.has(s.track));
    const summary = summarize(faces);
    // summary line
    document.getElementById("faces-seen").textContent = summary.faces_seen;
    document.getElementById("faces-word").textContent = summary.faces_seen === 1 ? "face" : "faces";
    const studentsSeen = document.getElementById("students-seen");
    if (studentsSeen) {
      studentsSeen.innerHTML = "";
      const strong = document.createElement("strong");
      strong.id = "student-count";
      strong.textContent = students.length;
      studentsSeen.append(strong, ` tracked student${students.length === 1 ? "" : "s"}`);
    }
    // state table and bar chart
    for (const c of classes) {
      const row = document.querySelector(`#state-table tr[data-state="${CSS.escape(c)}"]`);
      if (row) {
        row.querySelector(".count").textContent = summary.state_counts[c];
        row.querySelector(".share").textContent = percent(summary.state_shares[c]);
      }
      const bar = document.querySelector(`#shares svg rect.bar[data-state="${CSS.escape(c)}"]`);
      if (bar) {
        const track = bar.previousElementSibling;  // the grey full-width rect behind the bar
        const full = parseFloat(track.getAttribute("width"));
        bar.setAttribute("width", (Math.max(0, Math.min(1, summary.state_shares[c])) * full).toFixed(1));
        bar.nextElementSibling.textContent = `${percent(summary.state_shares[c])} (${summary.state_counts[c]})`;
      }
    }
    // faces not answered
    const detail = document.getElementById("uncertain-detail");
    if (detail) {
      const reasons = Object.entries(summary.uncertain);
      const total = reasons.reduce((sum, [, n]) => sum + n, 0);
      detail.textContent = total
        ? `${total} of ${summary.faces_seen}: ${reasons.map(([r, n]) => `${r && r !== "null" ? r : "no reason given"} ${n}`).join(", ")}`
        : "none";
      document.getElementById("faces-answered").textContent = summary.faces_answered;
    }
    // rows of the students and faces tables
    document.querySelectorAll("#students-table tbody tr[data-track]").forEach((tr) => {
      const out = excluded.has(Number(tr.dataset.track));
      tr.classList.toggle("excluded", out);
      const button = tr.querySelector("button.exclude");
      button.setAttribute("aria-pressed", String(out));
      button.textContent = out ? "Excluded" : "Exclude";
    });
    document.querySelectorAll("#faces tbody tr[data-face]").forEach((tr) => {
      tr.classList.toggle("excluded", excluded.has(Number(tr.dataset.face)));
    });
    // downloads: the server's when nobody is excluded, else made here without them
    const made = excluded.size ? {
      [data.files.faces]: () => dataUrl(csv(data.columns.faces, faces), "text/csv"),
      [data.files.students]: () => dataUrl(csv(data.columns.students, students), "text/csv"),
      [data.files.minutes]: () => dataUrl(csv(["minute", "frames", "faces", ...classes.map((c) => `share_${c}`)],
                                              summary.per_minute || []), "text/csv"),
      [data.files.json]: () => dataUrl(JSON.stringify({ ...original, summary, faces, students }, null, 2),
                                       "application/json"),
    } : {};
    document.querySelectorAll("a.download[data-name]").forEach((a) => {
      const make = made[a.dataset.name];
      a.href = make ? make() : originalHrefs.get(a.dataset.name);
    });
    const status = document.getElementById("exclude-status");
    const names = original.students.filter((s) => excluded.has(s.track)).map((s) => `student ${s.student} (track ${s.track})`);
    status.textContent = names.length
      ? `Excluded: ${names.join(", ")}. ${plural(students.length, "student")} and ${plural(summary.faces_seen, "face")} left; the counts, shares and downloads are without them.`
      : "";
  }

  document.getElementById("students-table").addEventListener("click", (event) => {
    const button = event.target.closest("button.exclude");
    if (!button) return;
    const track = Number(button.dataset.track);
    if (excluded.has(track)) excluded.delete(track);
    else excluded.add(track);
    render();
  });
})();
