// Search page: detect the probe's faces, let the user pick one, run the audited search and
// show the candidate grid. Plain JavaScript; the API key travels in the session cookie.
(function () {
  "use strict";
  const form = document.getElementById("search-form");
  const probe = document.getElementById("probe");
  const view = document.getElementById("probe-view");
  const img = document.getElementById("probe-img");
  const boxes = document.getElementById("face-boxes");
  const facesStatus = document.getElementById("faces-status");
  const faceInput = document.getElementById("face");
  const errorBox = document.getElementById("search-error");
  const results = document.getElementById("results");
  const summary = document.getElementById("results-summary");
  const grid = document.getElementById("candidates");
  // each probe change starts a detection; a response to an older one is ignored
  let detection = 0;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }
  function clearError() { errorBox.hidden = true; errorBox.textContent = ""; }
  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error.message;
    } catch (e) { /* not JSON */ }
    return "request failed (" + response.status + ")";
  }

  function pick(index) {
    faceInput.value = String(index);
    boxes.querySelectorAll(".face-box").forEach(function (b, i) {
      b.setAttribute("aria-checked", i === index ? "true" : "false");
      b.tabIndex = i === index ? 0 : -1;
    });
    facesStatus.textContent = "Face " + (index + 1) + " selected.";
  }

  function drawFaces(faces, width, height) {
    boxes.innerHTML = "";
    const scale = img.clientWidth / width;
    faces.forEach(function (f, i) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "face-box";
      b.setAttribute("role", "radio");
      b.setAttribute("aria-label", "Face " + (i + 1) + ", quality " + f.quality.score.toFixed(2));
      b.style.left = (f.box.x1 * scale) + "px";
      b.style.top = (f.box.y1 * scale) + "px";
      b.style.width = ((f.box.x2 - f.box.x1) * scale) + "px";
      b.style.height = ((f.box.y2 - f.box.y1) * scale) + "px";
      b.addEventListener("click", function () { pick(i); });
      b.addEventListener("keydown", function (ev) {
        if (ev.key === "ArrowRight" || ev.key === "ArrowDown") { pick((i + 1) % faces.length); boxes.children[(i + 1) % faces.length].focus(); ev.preventDefault(); }
        if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") { const j = (i - 1 + faces.length) % faces.length; pick(j); boxes.children[j].focus(); ev.preventDefault(); }
      });
      boxes.appendChild(b);
    });
  }

  probe.addEventListener("change", async function () {
    const run = ++detection;
    shown = null;
    clearError();
    faceInput.value = "";
    boxes.innerHTML = "";
    const file = probe.files[0];
    if (!file) { view.hidden = true; return; }
    img.src = URL.createObjectURL(file);
    view.hidden = false;
    facesStatus.textContent = "Finding faces…";
    const data = new FormData();
    data.append("probe", file);
    const response = await fetch("/ui/detect", { method: "POST", body: data, credentials: "same-origin" });
    if (run !== detection) return;
    if (!response.ok) {
      const message = await errorMessage(response);
      if (run !== detection) return;
      facesStatus.textContent = "";
      showError(message);
      return;
    }
    const body = await response.json();
    if (run !== detection) return;
    const draw = function () {
      if (run !== detection) return;
      drawFaces(body.faces, body.width, body.height);
      let largest = 0;
      body.faces.forEach(function (f, i) {
        const a = (f.box.x2 - f.box.x1) * (f.box.y2 - f.box.y1);
        const b = body.faces[largest];
        if (a > (b.box.x2 - b.box.x1) * (b.box.y2 - b.box.y1)) largest = i;
      });
      pick(largest);
      facesStatus.textContent = body.faces.length + " face(s) found; face " + (largest + 1) + " selected.";
    };
    shown = body;
    if (img.complete && img.naturalWidth) draw(); else img.onload = draw;
  });

  // the boxes are placed in displayed pixels: place them again when the photo is resized,
  // keeping the face picked
  let shown = null;
  window.addEventListener("resize", function () {
    if (!shown || !boxes.children.length) return;
    const picked = Number(faceInput.value || 0);
    drawFaces(shown.faces, shown.width, shown.height);
    pick(picked);
  });

  function text(tag, value) {
    const el = document.createElement(tag);
    el.textContent = value;
    return el;
  }

  // small numbers stay readable: 0.04% rather than 0.0%, 8.8e-6 rather than 0.0000088;
  // large ones too: 100% rather than 1.0e+2%
  function num(x) {
    if (x >= 10) return x.toFixed(0);
    return x >= 0.01 ? x.toPrecision(2) : x.toExponential(1);
  }
  function pct(x) { return num(100 * x) + "%"; }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    clearError();
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    if (!faceInput.value) data.delete("face");
    if (!data.get("threshold")) data.delete("threshold");
    const button = document.getElementById("search-button");
    button.disabled = true;
    try {
      const response = await fetch("/api/v1/search", { method: "POST", body: data, credentials: "same-origin" });
      if (!response.ok) { showError(await errorMessage(response)); return; }
      const body = await response.json();
      const candidates = body.faces.length ? body.faces[0].candidates : [];
      grid.innerHTML = "";
      summary.textContent = candidates.length + " candidate(s) among " + body.gallery_size +
        " faces at similarity ≥ " + body.threshold.toFixed(3) + " (estimated FMR " +
        body.threshold_fmr.toExponential(1) + "; chance of any false candidate in this search " +
        pct(body.threshold_fpir) + "; audit event #" + body.audit_seq + "). " + body.notice;
      candidates.forEach(function (c) {
        const li = document.createElement("li");
        li.className = "card candidate";
        const im = document.createElement("img");
        im.src = c.thumbnail_url;
        im.alt = "Candidate " + c.rank + (c.subject ? ": " + c.subject : "");
        li.appendChild(im);
        li.appendChild(text("p", "#" + c.rank + " " + (c.subject || "(no subject)")));
        li.appendChild(text("p", "similarity " + c.similarity.toFixed(3)));
        li.appendChild(text("p", "FMR " + c.fmr.toExponential(1) +
          " · expected others this high: " + num(c.expected_false_candidates)));
        li.appendChild(text("p", "gallery " + c.gallery));
        li.appendChild(text("small", (c.source_uri || "") + " · " + c.legal_basis));
        grid.appendChild(li);
      });
      results.hidden = false;
      summary.focus();
    } finally {
      button.disabled = false;
    }
  });
})();
