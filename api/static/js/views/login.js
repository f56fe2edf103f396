// Sign in with an API token; it is kept in sessionStorage, so it ends with the browser tab.

import { api, ApiError, token } from "../api.js";
import { h } from "../dom.js";

export function loginView(root, { query }) {
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "current-password",
    placeholder: "gq_…",
    required: true,
  });
  const message = h("p", { class: "error", id: "login-error", role: "alert" });
  if (query.expired) message.textContent = "Your token was refused; sign in again.";

  async function submit(event) {
    event.preventDefault();
    message.textContent = "";
    token.set(input.value.trim());
    try {
      await api.get("/jobs", { limit: 1 });
    } catch (error) {
      token.clear();
      message.textContent =
        error instanceof ApiError && error.status === 401
          ? "Unknown or revoked token."
          : `Could not reach the API: ${error.message}`;
      return;
    }
    const next =
      query.next?.startsWith("/") && !query.next.startsWith("/login") ? query.next : "/jobs";
    location.hash = `#${next}`;
  }

  root.append(
    h(
      "form",
      { class: "card login", onsubmit: submit },
      h("h1", {}, "Sign in to gradq"),
      h("label", { for: "token" }, "API token"),
      input,
      h("button", { type: "submit", class: "primary", id: "login" }, "Sign in"),
      message,
      h(
        "p",
        { class: "muted small" },
        "The admin token is in .gradq/admin-token; an admin creates users and their tokens with ",
        h("code", {}, "gradq users create NAME"),
        ".",
      ),
    ),
  );
  input.focus();
}
