// Analyse page: busy indicator for uploads, and the live webcam view (about one frame per second):
// boxes, a timeline, and a table of students. The server matches each frame's faces to the
// tracks of the previous answer and smooths each face's answer over its track's frames so far;
// this page sends those tracks (boxes and smoothed answers) back with the next frame ("tracks",
// with "time": seconds since the webcam started), so nothing about the faces is kept on the server.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  form.addEventListener("submit", () => {
    document.getElementById("busy").hidden = false;
    document.getElementById("analyze-button").disabled = true;
  });

  const COLOURS = { Angry: "#dc2828", Bored: "#2878c8", Focused: "#3cb43c", Neutral: "#aaaaaa",
                    Other: "#d23cc8", Uncertain: "#f0ebe1" };  // as STATE_COLOURS in inference/draw.py
  const UNCERTAIN = "Uncertain";  // a face the quality gate did not answer: it counts for no share
  const MIN_STUDENT_FRAMES = 3;  // as `aiducation analyze`: shorter tracks are not students
  const BLOCK_SECONDS = 10;  // as inference/students.py: answers about this close are correlated
  const video = document.getElementById("webcam-video");
  const view = document.getElementById("webcam-view");
  const overlay = document.getElementById("webcam-overlay");
  const timeline = document.getElementById("webcam-timeline");
  const status = document.getElementById("webcam-status");
  const startButton = document.getElementById("webcam-start");
  const stopButton = document.getElementById("webcam-stop");
  const download = document.getElementById("webcam-download");
  const studentsTable = document.getElementById("webcam-students");
  const studentsDownload = document.getElementById("webcam-students-download");
  let stream = null, timer = null, busy = false, started = 0, tracks = {}, shown = [];
  const rows = [];  // {time, faces, uncertain, Angry, Bored, ...}
  // track id -> {frames, first, last, answers: [state...], probs: {state: sum}, longest, run}
  const students = new Map();

  function label(f) {  // as FaceResult.label: an Uncertain face shows why
    return f.state === UNCERTAIN && f.reason ? `?: ${f.reason}` : f.state;
  }

  function describe(f) {  // the text shown on hover
    if (f.state === UNCERTAIN) return `Uncertain: not answered (${f.reason || "no reason given"}); counts for no share`;
    const own = f.frame_state && f.frame_state !== f.state ? `; this frame alone: ${f.frame_state}` : "";
    const expression = f.state === "Other" && f.expression ? `, expression ${f.expression}` : "";
    return `${f.state} (${Math.round(100 * f.confidence)} %${expression}), smoothed over this face's frames so far${own}`;
  }

  function drawBoxes(faces, scale) {
    overlay.width = video.clientWidth; overlay.height = video.clientHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    ctx.lineWidth = 2; ctx.font = "13px sans-serif";
    shown = [];
    for (const f of faces || []) {
      const c = COLOURS[f.state] || "#888";
      const [x, y, w, h] = [f.x * scale, f.y * scale, f.w * scale, f.h * scale];
      shown.push({ x, y, w, h, text: describe(f) });
      ctx.strokeStyle = c; ctx.strokeRect(x, y, w, h);
      // the label above the box, or inside it at the top edge; never past the sides
      const text = label(f), lw = ctx.measureText(text).width + 6;
      const lx = Math.max(0, Math.min(x, overlay.width - lw)), ly = y >= 16 ? y - 16 : y;
      ctx.fillStyle = c; ctx.fillRect(lx, ly, lw, 16);
      ctx.fillStyle = f.state === UNCERTAIN ? "#1d2430" : "#fff";  // dark text on the pale colour
      ctx.fillText(text, lx + 3, ly + 12);
    }
  }

  view.addEventListener("mousemove", event => {  // the face under the pointer, on hover
    const box = view.getBoundingClientRect(), px = event.clientX - box.left, py = event.clientY - box.top;
    const face = shown.find(f => px >= f.x && px <= f.x + f.w && py >= f.y && py <= f.y + f.h);
    view.title = face ? face.text : "";
  });

  function drawTimeline(classes) {
    const ctx = timeline.getContext("2d"), W = timeline.width, H = timeline.height;
    ctx.clearRect(0, 0, W, H);
    if (!rows.length) return;
    const maxFaces = Math.max(1, ...rows.map(r => r.faces));
    const step = W / Math.max(1, rows.length);
    rows.forEach((r, i) => {
      let y = H;
      for (const c of [...classes, UNCERTAIN]) {  // Uncertain faces on top, in their pale colour
        const h = ((c === UNCERTAIN ? r.uncertain : r[c]) / maxFaces) * (H - 20);
        ctx.fillStyle = COLOURS[c] || "#888";
        ctx.fillRect(i * step, y - h, Math.max(1, step - 1), h);
        y -= h;
      }
    });
    ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
    ctx.fillText([...classes, "Uncertain (no share)"].join(" · ") + `  (max ${maxFaces} faces)`, 4, 12);
  }

  function csv(classes) {
    const head = ["time", "faces", ...classes, "uncertain"].join(",");
    return [head, ...rows.map(r => [r.time, r.faces, ...classes.map(c => r[c]), r.uncertain].join(","))].join("\n");
  }

  function countFaces(faces, time) {
    for (const f of faces || []) {
      const s = students.get(f.track_id) ||
        { frames: 0, first: time, last: time, answers: [], probs: {}, longest: {}, run: 0 };
      s.frames += 1; s.last = time;
      if (f.state !== UNCERTAIN) {  // as students.csv: Uncertain frames are on screen, in no share
        s.run = s.answers.length && s.answers[s.answers.length - 1] === f.state ? s.run + 1 : 1;
        s.longest[f.state] = Math.max(s.longest[f.state] || 0, s.run);
        s.answers.push(f.state);
        for (const [key, p] of Object.entries(f)) {
          if (key.startsWith("p_")) s.probs[key.slice(2)] = (s.probs[key.slice(2)] || 0) + p;
        }
      }
      students.set(f.track_id, s);
    }
  }

  // 95 % interval of the share of `state` in `answers` (time order), blocks of `block` answers:
  // the normal approximation of the moving-block bootstrap of students.csv (inference/students.py),
  // whose resampled share is the mean of ceil(n / block) blocks drawn from the n - block + 1
  // overlapping ones. A constant answer gets a zero-width interval, as there.
  function shareInterval(answers, state, block) {
    const n = answers.length;
    if (!n) return [NaN, NaN];
    const b = Math.min(Math.max(block, 1), n), k = Math.ceil(n / b), sums = [0];
    for (const a of answers) sums.push(sums[sums.length - 1] + (a === state ? 1 : 0));
    const means = [];
    for (let i = 0; i + b <= n; i++) means.push((sums[i + b] - sums[i]) / b);
    const mean = means.reduce((x, y) => x + y, 0) / means.length;
    const variance = means.reduce((x, y) => x + (y - mean) ** 2, 0) / means.length;
    const half = 1.96 * Math.sqrt(variance / k);
    return [Math.max(0, mean - half), Math.min(1, mean + half)];
  }
  window.aiducationLive = { shareInterval, label, describe };  // for the browser tests

  function studentRows(classes) {
    // one row per track seen in enough frames, as students.csv: numbered 1..N in order of first
    // appearance; shares of the answered frames with their 95 % intervals; the dominant state is
    // the most frequent one, a tie going to the higher mean probability
    const span = rows.length > 1 ? parseFloat(rows[rows.length - 1].time) - parseFloat(rows[0].time) : 0;
    const step = rows.length > 1 ? span / (rows.length - 1) : 1;  // seconds between analysed frames
    const wanted = step > 0 ? Math.max(1, Math.round(BLOCK_SECONDS / step)) : 1;
    const kept = [...students.entries()].filter(([, s]) => s.frames >= MIN_STUDENT_FRAMES)
      .sort(([a, s], [b, t]) => s.first - t.first || a - b);
    return kept.map(([id, s], i) => {
      const n = s.answers.length, counts = {};
      for (const a of s.answers) counts[a] = (counts[a] || 0) + 1;
      const dominant = n ? classes.reduce((a, b) => {
        const key = c => [counts[c] || 0, s.probs[c] || 0];
        const [ca, pa] = key(a), [cb, pb] = key(b);
        return cb > ca || (cb === ca && pb > pa) ? b : a;
      }) : UNCERTAIN;
      const block = Math.min(wanted, Math.round(Math.sqrt(n)));
      const shares = Object.fromEntries(classes.map(c => [c, n ? (counts[c] || 0) / n : 0]));
      const intervals = Object.fromEntries(classes.map(c => [c, shareInterval(s.answers, c, block)]));
      const longest = Object.fromEntries(classes.map(c => [c, (s.longest[c] || 0) * step]));
      return { student: i + 1, track: id, frames: s.frames, usable: n, seconds: s.frames * step,
               first: s.first, last: s.last, dominant, shares, intervals, longest };
    });
  }

  const pct = v => (Number.isNaN(v) ? "–" : `${Math.round(100 * v)}`);

  function drawStudents(classes) {
    const table = studentRows(classes);
    studentsTable.hidden = table.length === 0;
    const head = ["student", "frames", "answered", "on screen (s)", "seen (s)", "dominant state", ...classes];
    studentsTable.tHead.innerHTML = "";
    const headRow = studentsTable.tHead.insertRow();
    for (const h of head) headRow.appendChild(document.createElement("th")).textContent = h;
    const body = studentsTable.tBodies[0];
    body.innerHTML = "";
    for (const r of table) {
      const cells = [r.student, r.frames, r.usable, r.seconds.toFixed(1), `${r.first.toFixed(1)}–${r.last.toFixed(1)}`,
                     r.dominant];
      const row = body.insertRow();
      row.dataset.track = r.track;
      for (const c of cells) row.insertCell().textContent = c;
      for (const c of classes) {  // the share, its 95 % interval below it and on hover
        const [low, high] = r.intervals[c], cell = row.insertCell();
        cell.textContent = `${Math.round(100 * r.shares[c])}% `;
        cell.appendChild(document.createElement("small")).textContent = `${pct(low)}–${pct(high)}`;
        cell.title = `95 % interval ${pct(low)}–${pct(high)} %, longest stretch ${r.longest[c].toFixed(1)} s`;
      }
    }
    const lines = [["student", "track", "frames", "usable_frames", "seconds_on_screen", "first_seen_s", "last_seen_s",
                    "dominant_state",
                    ...classes.flatMap(c => [`share_${c}`, `share_${c}_low`, `share_${c}_high`, `longest_${c}_s`])].join(",")];
    const fixed = v => (Number.isNaN(v) ? "" : v.toFixed(4));
    for (const r of table) {
      lines.push([r.student, r.track, r.frames, r.usable, r.seconds.toFixed(1), r.first.toFixed(1), r.last.toFixed(1),
                  r.dominant, ...classes.flatMap(c => [r.shares[c].toFixed(4), fixed(r.intervals[c][0]),
                                                       fixed(r.intervals[c][1]), r.longest[c].toFixed(1)])].join(","));
    }
    studentsDownload.href = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/csv" }));
    studentsDownload.hidden = table.length === 0;
  }

  async function tick() {
    if (busy || !video.videoWidth) return;
    busy = true;
    const time = (Date.now() - started) / 1000;  // when the frame was taken (smoothing's clock)
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", 0.85));
    const body = new FormData();
    body.append("file", blob, "webcam.jpg");
    const aggregate = document.getElementById("webcam-aggregate").checked;
    if (aggregate) body.append("aggregate_only", "true");
    else { body.append("tracks", JSON.stringify(tracks)); body.append("time", time.toFixed(3)); }
    try {
      const response = await fetch("/api/analyze", { method: "POST", body });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || response.statusText);
      if (timer === null) return;  // stopped while this frame was on its way: not counted
      const summary = result.summary, counts = summary.state_counts;
      const uncertain = summary.faces_seen - (summary.faces_answered ?? summary.faces_seen);
      rows.push({ time: time.toFixed(1), faces: summary.faces_seen, uncertain, ...counts });
      drawBoxes(aggregate ? [] : result.faces, video.clientWidth / video.videoWidth);
      drawTimeline(result.classes);
      if (!aggregate) {
        tracks = result.tracks;
        countFaces(result.faces, time);
        drawStudents(result.classes);
      }
      const unanswered = uncertain ? ` (${uncertain} not answered)` : "";
      status.textContent = `${rows.length} frames analysed; last: ${summary.faces_seen} face(s)${unanswered}`;
      download.href = URL.createObjectURL(new Blob([csv(result.classes)], { type: "text/csv" }));
      download.hidden = false;
    } catch (err) {
      status.textContent = "analysis failed: " + err.message;
    } finally {
      busy = false;
    }
  }

  startButton.addEventListener("click", async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "This browser gives no camera access here (it needs localhost or HTTPS).";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    } catch (err) {
      status.textContent = "No camera: " + err.message;
      return;
    }
    video.srcObject = stream; started = Date.now(); rows.length = 0; students.clear(); tracks = {};
    document.getElementById("webcam-view").hidden = false;
    timeline.hidden = false;
    timer = setInterval(tick, 1000);
    startButton.disabled = true; stopButton.disabled = false;
    status.textContent = "webcam on";
  });

  stopButton.addEventListener("click", () => {
    clearInterval(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(t => t.stop());
    startButton.disabled = false; stopButton.disabled = true;
    const last = rows.length ? rows[rows.length - 1].faces : 0;
    status.textContent = `stopped after ${rows.length} frames; last: ${last} face(s)`;
  });
})();
