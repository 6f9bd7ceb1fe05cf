// Analyse page: busy indicator for uploads, and the live webcam view (about one frame per second).
"use strict";
(function () {
  const form = document.getElementById("upload-form");
  form.addEventListener("submit", () => {
    document.getElementById("busy").hidden = false;
    document.getElementById("analyze-button").disabled = true;
  });

  const COLOURS = { Angry: "#dc2828", Bored: "#2878c8", Focused: "#3cb43c", Neutral: "#aaaaaa" };
  const video = document.getElementById("webcam-video");
  const overlay = document.getElementById("webcam-overlay");
  const timeline = document.getElementById("webcam-timeline");
  const status = document.getElementById("webcam-status");
  const startButton = document.getElementById("webcam-start");
  const stopButton = document.getElementById("webcam-stop");
  const download = document.getElementById("webcam-download");
  let stream = null, timer = null, busy = false, started = 0;
  const rows = [];  // {time, faces, Angry, Bored, ...}

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
    try {
      const response = await fetch("/api/analyze", { method: "POST", body });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || response.statusText);
      const counts = result.summary.state_counts;
      rows.push({ time: ((Date.now() - started) / 1000).toFixed(1), faces: result.summary.faces_seen, ...counts });
      drawBoxes(aggregate ? [] : result.faces, video.clientWidth / video.videoWidth);
      drawTimeline(result.classes);
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
    video.srcObject = stream; started = Date.now(); rows.length = 0;
    document.getElementById("webcam-view").hidden = false;
    timeline.hidden = false;
    timer = setInterval(tick, 1000);
    startButton.disabled = true; stopButton.disabled = false;
    status.textContent = "webcam on";
  });

  stopButton.addEventListener("click", () => {
    clearInterval(timer);
    if (stream) stream.getTracks().forEach(t => t.stop());
    startButton.disabled = false; stopButton.disabled = true;
    status.textContent = `stopped after ${rows.length} frames`;
  });
})();
