// Shared helpers. Every value from the API may be attacker-controlled: text goes in with
// textContent and SVG is built with createElementNS; no HTML-parsing sink is ever used.
"use strict";

const CB = {
  SVG: "http://www.w3.org/2000/svg",

  el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  },

  svg(tag, attrs, text) {
    const node = document.createElementNS(CB.SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  },

  // fetch JSON from our API; writes carry the CSRF header the cookie session requires.
  async api(method, path, body) {
    const opts = { method, headers: { "X-Chainbreaker": "1" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(path, opts);
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail || res.statusText);
      const err = new Error(res.status === 401 ? "not logged in: " + detail : detail);
      err.status = res.status;
      throw err;
    }
    return data;
  },

  showError(node, err) {
    node.hidden = false;
    node.textContent = String(err.message || err);
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => {
    await CB.api("POST", "/api/logout");
    window.location.href = "/login";
  });
});
