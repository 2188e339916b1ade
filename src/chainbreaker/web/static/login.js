"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await CB.api("POST", "/api/login", {
        analyst: document.getElementById("login-analyst").value,
        token: document.getElementById("login-token").value,
      });
      window.location.href = "/";
    } catch (err) {
      CB.showError(document.getElementById("login-error"), err);
    }
  });
});
