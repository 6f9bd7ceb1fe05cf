// Analyse page: busy indicator for uploads, and the live webcam view (about one frame per second):
// boxes, a timeline, and a table of students. The server matches each frame's faces to the
// tracks of the previous answer, which this page sends back with the next frame ("tracks"), so
// nothing about the faces is kept on the server.
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  form.addEventListener("submit", () => {
    document.getElementById("busy").hidden = false;
    document.getElementById("analyze-button").disabled = true;
  });

  const COLOURS = { Angry: "#dc2828", Bored: "#2878c8", Focused: "#3cb43c", Neutral: "#aaaaaa",
                    Other: "#d23cc8", Uncertain: "#f0ebe1" };  // as STATE_COLOURS in inference/draw.py
  const MIN_STUDENT_FRAMES = 3;  // as `aiducation analyze`: shorter tracks are not students
  const video = document.getElementById("webcam-video");
  const overlay = document.getElementById("webcam-overlay");
  const timeline = document.getElementById("webcam-timeline");
  const status = document.getElementById("webcam-status");
  const startButton = document.getElementById("webcam-start");
  const stopButton = document.getElementById("webcam-stop");
  const download = document.getElementById("webcam-download");
  const studentsTable = document.getElementById("webcam-students");
  const studentsDownload = document.getElementById("webcam-students-download");
  let stream = null, timer = null, busy = false, started = 0, tracks = {};
  const rows = [];  // {time, faces, Angry, Bored, ...}
  const students = new Map();  // track id -> {frames, first, last, counts: {state: n}}

  function drawBoxes(faces, scale) {
    overlay.width = video.clientWidth; overlay.height = video.clientHeight;
    const ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    ctx.lineWidth = 2; ctx.font = "13px sans-serif";
    for (const f of faces || []) {
      const c = COLOURS[f.state] || "#888";
      const [x, y, w, h] = [f.x * scale, f.y * scale, f.w * scale, f.h * scale];
      ctx.strokeStyle = c; ctx.strokeRect(x, y, w, h);
      // the label above the box, or inside it at the top edge; never past the sides
      const lw = ctx.measureText(f.state).width + 6;
      const lx = Math.max(0, Math.min(x, overlay.width - lw)), ly = y >= 16 ? y - 16 : y;
      ctx.fillStyle = c; ctx.fillRect(lx, ly, lw, 16);
      ctx.fillStyle = "#fff"; ctx.fillText(f.state, lx + 3, ly + 12);
    }
  }

  function drawTimeline(classes) {
    const ctx = timeline.getContext("2d"), W = timeline.width, H = timeline.height;
    ctx.clearRect(0, 0, W, H);
    if (!rows.length) return;
    const maxFaces = Math.max(1, ...rows.map(r => r.faces));
    const step = W / Math.max(1, rows.length);
    rows.forEach((r, i) => {
      let y = H;
      for (const c of classes) {
        const h = (r[c] / maxFaces) * (H - 20);
        ctx.fillStyle = COLOURS[c] || "#888";
        ctx.fillRect(i * step, y - h, Math.max(1, step - 1), h);
        y -= h;
      }
    });
    ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
    ctx.fillText(classes.map(c => c).join(" · ") + `  (max ${maxFaces} faces)`, 4, 12);
  }

  function csv(classes) {
    const head = ["time", "faces", ...classes].join(",");
    return [head, ...rows.map(r => [r.time, r.faces, ...classes.map(c => r[c])].join(","))].join("\n");
  }

  function countFaces(faces, time) {
    for (const f of faces || []) {
      const s = students.get(f.track_id) || { frames: 0, first: time, last: time, counts: {} };
      s.frames += 1; s.last = time; s.counts[f.state] = (s.counts[f.state] || 0) + 1;
      students.set(f.track_id, s);
    }
  }

  function studentRows(classes) {
    // one row per track seen in enough frames, as students.csv: the dominant state is the most
    // frequent one, ties going to the first in the model's order
    const span = rows.length > 1 ? parseFloat(rows[rows.length - 1].time) - parseFloat(rows[0].time) : 0;
    const step = rows.length > 1 ? span / (rows.length - 1) : 1;  // seconds between analysed frames
    return [...students.entries()].filter(([, s]) => s.frames >= MIN_STUDENT_FRAMES).map(([id, s]) => {
      const dominant = classes.reduce((a, b) => ((s.counts[b] || 0) > (s.counts[a] || 0) ? b : a));
      const shares = Object.fromEntries(classes.map(c => [c, (s.counts[c] || 0) / s.frames]));
      return { student: id, frames: s.frames, seconds: s.frames * step, first: s.first, last: s.last,
               dominant, shares };
    });
  }

  function drawStudents(classes) {
    const table = studentRows(classes);
    studentsTable.hidden = table.length === 0;
    const head = ["student", "frames", "on screen (s)", "seen (s)", "dominant state", ...classes];
    studentsTable.tHead.innerHTML = "";
    const headRow = studentsTable.tHead.insertRow();
    for (const h of head) headRow.appendChild(document.createElement("th")).textContent = h;
    const body = studentsTable.tBodies[0];
    body.innerHTML = "";
    for (const r of table) {
      const cells = [r.student, r.frames, r.seconds.toFixed(1), `${r.first.toFixed(1)}–${r.last.toFixed(1)}`,
                     r.dominant, ...classes.map(c => `${Math.round(100 * r.shares[c])}%`)];
      const row = body.insertRow();
      for (const c of cells) row.insertCell().textContent = c;
    }
    const lines = [["student", "frames", "seconds_on_screen", "first_seen_s", "last_seen_s", "dominant_state",
                    ...classes.map(c => `share_${c}`)].join(",")];
    for (const r of table) {
      lines.push([r.student, r.frames, r.seconds.toFixed(1), r.first.toFixed(1), r.last.toFixed(1), r.dominant,
                  ...classes.map(c => r.shares[c].toFixed(4))].join(","));
    }
    studentsDownload.href = URL.createObjectURL(new Blob([lines.join("\n")], { type: "text/csv" }));
    studentsDownload.hidden = table.length === 0;
  }

  async function tick() {
    if (busy || !video.videoWidth) return;
    busy = true;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", 0.85));
    const body = new FormData();
    body.append("file", blob, "webcam.jpg");
    const aggregate = document.getElementById("webcam-aggregate").checked;
    if (aggregate) body.append("aggregate_only", "true");
    else body.append("tracks", JSON.stringify(tracks));
    const time = (Date.now() - started) / 1000;
    try {
      const response = await fetch("/api/analyze", { method: "POST", body });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || response.statusText);
      if (timer === null) return;  // stopped while this frame was on its way: not counted
      const counts = result.summary.state_counts;
      rows.push({ time: time.toFixed(1), faces: result.summary.faces_seen, ...counts });
      drawBoxes(aggregate ? [] : result.faces, video.clientWidth / video.videoWidth);
      drawTimeline(result.classes);
      if (!aggregate) {
        tracks = result.tracks;
        countFaces(result.faces, time);
        drawStudents(result.classes);
      }
      status.textContent = `${rows.length} frames analysed; last: ${result.summary.faces_seen} face(s)`;
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
