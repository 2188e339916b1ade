"use strict";
// Start hunt jobs (upload or server-side path) and poll their progress.
document.addEventListener("DOMContentLoaded", () => {
  const errBox = document.getElementById("hunt-error");
  const body = document.querySelector("#jobs tbody");

  function render(jobs) {
    body.replaceChildren();
    for (const job of jobs.slice().reverse()) {
      const tr = CB.el("tr", { "data-job": job.id, "data-state": job.state });
      tr.append(CB.el("td", { class: "mono" }, job.id));
      tr.append(CB.el("td", {}, (job.inputs || []).join(", ")));
      tr.append(CB.el("td", { class: "status " + job.state }, job.state));
      const bar = CB.el("progress", { max: "1", value: String(job.progress || 0) });
      const cell = CB.el("td");
      cell.append(bar, CB.el("span", { class: "muted" }, " " + job.stage));
      tr.append(cell);
      tr.append(CB.el("td", {}, job.error || job.message || ""));
      const run = CB.el("td");
      if (job.run_id) run.append(CB.el("a", { href: "/?run_id=" + encodeURIComponent(job.run_id) }, job.run_id));
      tr.append(run);
      body.append(tr);
    }
  }

  async function poll() {
    try {
      const data = await CB.api("GET", "/api/jobs");
      render(data.jobs);
      if (data.jobs.some((j) => j.state === "queued" || j.state === "running")) setTimeout(poll, 1000);
    } catch (err) {
      CB.showError(errBox, err);
    }
  }

  document.getElementById("upload-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errBox.hidden = true;
    const file = document.getElementById("upload-file").files[0];
    if (!file) return;
    const res = await fetch("/api/hunts/upload?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "X-Chainbreaker": "1", "Content-Type": "application/octet-stream" },
      credentials: "same-origin",
      body: file,
    });
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      CB.showError(errBox, new Error(res.status + ": " + (data.detail || res.statusText)));
      return;
    }
    poll();
  });

  const pathForm = document.getElementById("path-form");
  const pathInput = document.getElementById("hunt-path");
  if (pathInput) pathForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    errBox.hidden = true;
    try {
      await CB.api("POST", "/api/hunts", { path: pathInput.value });
      poll();
    } catch (err) {
      CB.showError(errBox, err);
    }
  });

  poll();
});
