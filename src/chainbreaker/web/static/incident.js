"use strict";
// The incident page: timeline and entity graph drawn in SVG, triage, notes, audit, raw events.

const KILLCHAIN = ["reconnaissance", "weaponization", "delivery", "exploitation", "installation",
  "command-and-control", "actions-on-objectives"];
const LEVEL_COLOUR = { informational: "#8fa3b8", low: "#5b9bd5", medium: "#e0a526", high: "#e0602b", critical: "#c0152f" };
const KIND_COLOUR = { host: "#2f6db5", user: "#8a3fb5", ip: "#2e8b57", process: "#b5652f", domain: "#6b6b6b" };

// Timeline: one lane per kill-chain phase (plus "other"), one dot per alert at its time.
function drawTimeline(box, alerts) {
  box.replaceChildren();
  if (!alerts.length) { box.append(CB.el("p", { class: "muted" }, "no alerts")); return; }
  const lanes = [...KILLCHAIN, "other"];
  const times = alerts.map((a) => Date.parse(a.time)).filter((t) => !Number.isNaN(t));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const W = 900, left = 170, right = 20, laneH = 26, top = 10, H = top + lanes.length * laneH + 30;
  const x = (t) => left + (t1 === t0 ? (W - left - right) / 2 : ((t - t0) / (t1 - t0)) * (W - left - right));
  const root = CB.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
  lanes.forEach((lane, i) => {
    const y = top + i * laneH;
    root.append(CB.svg("rect", { x: left, y, width: W - left - right, height: laneH - 4, class: "lane" }));
    root.append(CB.svg("text", { x: left - 8, y: y + laneH / 2 + 2, "text-anchor": "end", class: "lane-label" }, lane));
  });
  for (const a of alerts) {
    const t = Date.parse(a.time);
    if (Number.isNaN(t)) continue;
    const phases = (a.killchain_phases || []).length ? a.killchain_phases : ["other"];
    for (const p of phases) {
      const i = lanes.indexOf(p) >= 0 ? lanes.indexOf(p) : lanes.length - 1;
      const dot = CB.svg("circle", { cx: x(t), cy: top + i * laneH + (laneH - 4) / 2, r: 6,
        fill: LEVEL_COLOUR[a.level] || "#888", class: "event-dot" });
      dot.append(CB.svg("title", {}, `${a.time} ${a.level}: ${a.title}` + (a.host ? ` on ${a.host}` : "")));
      root.append(dot);
    }
  }
  const axisY = top + lanes.length * laneH + 14;
  root.append(CB.svg("text", { x: left, y: axisY, class: "axis" }, new Date(t0).toISOString()));
  root.append(CB.svg("text", { x: W - right, y: axisY, "text-anchor": "end", class: "axis" }, new Date(t1).toISOString()));
  box.append(root);
}

// Entity graph: a small force-directed layout written here (no library): repulsion between
// every pair, springs along links, a pull to the centre; deterministic start on a circle.
function layout(nodes, links, W, H) {
  const n = nodes.length, pos = new Map();
  nodes.forEach((node, i) => {
    const a = (2 * Math.PI * i) / Math.max(1, n);
    pos.set(node.id, { x: W / 2 + (W / 3) * Math.cos(a), y: H / 2 + (H / 3) * Math.sin(a), vx: 0, vy: 0 });
  });
  const k = Math.sqrt((W * H) / Math.max(1, n)) * 0.6;
  for (let step = 0; step < 300; step++) {
    const cool = 1 - step / 300;
    for (const a of nodes) {
      const pa = pos.get(a.id);
      for (const b of nodes) {
        if (a === b) continue;
        const pb = pos.get(b.id);
        let dx = pa.x - pb.x, dy = pa.y - pb.y;
        const d2 = Math.max(dx * dx + dy * dy, 1);
        const f = (k * k) / d2;
        pa.vx += dx * f * 0.05; pa.vy += dy * f * 0.05;
      }
      pa.vx += (W / 2 - pa.x) * 0.01; pa.vy += (H / 2 - pa.y) * 0.01;
    }
    for (const l of links) {
      const ps = pos.get(l.source), pt = pos.get(l.target);
      if (!ps || !pt) continue;
      const dx = pt.x - ps.x, dy = pt.y - ps.y, d = Math.max(Math.hypot(dx, dy), 1);
      const f = ((d - k) / d) * 0.1;
      ps.vx += dx * f; ps.vy += dy * f; pt.vx -= dx * f; pt.vy -= dy * f;
    }
    for (const p of pos.values()) {
      const v = Math.hypot(p.vx, p.vy), cap = 20 * cool + 1;
      if (v > cap) { p.vx *= cap / v; p.vy *= cap / v; }
      p.x = Math.min(W - 40, Math.max(40, p.x + p.vx));
      p.y = Math.min(H - 20, Math.max(20, p.y + p.vy));
      p.vx *= 0.5; p.vy *= 0.5;
    }
  }
  return pos;
}

function drawGraph(box, graph) {
  box.replaceChildren();
  const nodes = graph.nodes || [], links = graph.links || [];
  if (!nodes.length) { box.append(CB.el("p", { class: "muted" }, "no entities")); return; }
  const W = 900, H = Math.max(320, Math.min(700, 60 * Math.sqrt(nodes.length) * 3));
  const pos = layout(nodes, links, W, H);
  const root = CB.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img" });
  for (const l of links) {
    const a = pos.get(l.source), b = pos.get(l.target);
    if (!a || !b) continue;
    const line = CB.svg("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: "edge", "stroke-width": Math.min(1 + l.count, 5) });
    line.append(CB.svg("title", {}, `${l.kind} (${l.count})`));
    root.append(line);
  }
  for (const node of nodes) {
    const p = pos.get(node.id);
    const g = CB.svg("g", { class: "node " + node.kind, transform: `translate(${p.x},${p.y})` });
    g.append(CB.svg("circle", { r: 9, fill: KIND_COLOUR[node.kind] || "#777" }));
    g.append(CB.svg("text", { x: 12, y: 4, class: "node-label" }, `${node.kind}: ${node.label}`));
    g.append(CB.svg("title", {}, `${node.kind}: ${node.label}`));
    root.append(g);
  }
  const legend = CB.el("p", { class: "muted legend" });
  for (const [kind, colour] of Object.entries(KIND_COLOUR)) {
    const sw = CB.el("span", { class: "swatch " + kind }, "●");
    legend.append(sw, document.createTextNode(" " + kind + "  "));
  }
  box.append(root, legend);
}

function renderAudit(list, rows) {
  list.replaceChildren();
  for (const r of rows) {
    const li = CB.el("li");
    li.append(CB.el("strong", {}, r.actor), document.createTextNode(" " + r.action + ": "));
    li.append(CB.el("span", { class: "mono" }, `${r.old_value ?? "∅"} → ${r.new_value ?? "∅"}`));
    li.append(CB.el("span", { class: "muted" }, " " + r.at));
    list.append(li);
  }
}

function renderNote(list, n) {
  const li = CB.el("li");
  li.append(CB.el("strong", {}, n.author), document.createTextNode(" "), CB.el("span", { class: "muted" }, n.created_at));
  li.append(CB.el("p", {}, n.body));
  list.append(li);
}

document.addEventListener("DOMContentLoaded", async () => {
  const root = document.getElementById("incident");
  const id = root.dataset.id;
  const base = "/api/incidents/" + encodeURIComponent(id);
  const auditList = document.getElementById("audit");
  const refreshAudit = async () => renderAudit(auditList, (await CB.api("GET", base + "/audit")).audit);

  document.getElementById("triage").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const errBox = document.getElementById("triage-error");
    errBox.hidden = true;
    try {
      const state = await CB.api("PATCH", base + "/triage", {
        status: document.getElementById("triage-status").value,
        assignee: document.getElementById("triage-assignee").value,
      });
      document.getElementById("triage-state").textContent = `saved: ${state.status} by ${state.updated_by} at ${state.updated_at}`;
      await refreshAudit();
    } catch (err) { CB.showError(errBox, err); }
  });

  document.getElementById("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const box = document.getElementById("note-body");
    try {
      renderNote(document.getElementById("notes"), await CB.api("POST", base + "/notes", { body: box.value }));
      box.value = "";
      await refreshAudit();
    } catch (err) { CB.showError(document.getElementById("triage-error"), err); }
  });

  for (const button of document.querySelectorAll("button.raw-events")) {
    button.addEventListener("click", async () => {
      const out = button.nextElementSibling;
      out.hidden = false;
      out.replaceChildren(CB.el("span", { class: "muted" }, "loading…"));
      try {
        const data = await CB.api("GET", "/api/alerts/" + encodeURIComponent(button.dataset.alert) + "/events");
        out.replaceChildren();
        for (const ev of data.events) {
          out.append(CB.el("div", { class: "mono muted" }, `${ev.file}#${ev.record}`));
          out.append(CB.el("pre", { class: "raw-event" }, ev.available ? JSON.stringify(ev.event, null, 2) : "(source not available)"));
        }
      } catch (err) { out.replaceChildren(CB.el("span", { class: "error" }, err.message)); }
    });
  }

  try {
    const [alerts, graph] = await Promise.all([CB.api("GET", base + "/alerts"), CB.api("GET", base + "/graph")]);
    drawTimeline(document.getElementById("timeline"), alerts.alerts);
    drawGraph(document.getElementById("graph"), graph);
    await refreshAudit();
    root.dataset.ready = "1";
  } catch (err) {
    CB.showError(document.getElementById("triage-error"), err);
  }
});
