// The dashboard's shell: navigation, sign-in guard and hash routes (#/jobs, #/jobs/ID, ...).

import { token } from "./api.js";
import { fill, h } from "./dom.js";
import { currentRoute, go, routeString } from "./router.js";
import { compareView } from "./views/compare.js";
import { jobView } from "./views/job.js";
import { jobsView } from "./views/jobs.js";
import { loginView } from "./views/login.js";
import { submitView } from "./views/submit.js";

const ROUTES = [
  { pattern: /^\/(jobs)?$/, view: jobsView, nav: "jobs" },
  { pattern: /^\/jobs\/([0-9a-fA-F-]{36})$/, view: jobView, nav: "jobs" },
  { pattern: /^\/compare$/, view: compareView, nav: "compare" },
  { pattern: /^\/submit$/, view: submitView, nav: "submit" },
  { pattern: /^\/login$/, view: loginView, nav: null, public: true },
];

const nav = document.getElementById("nav");
const root = document.getElementById("view");
let cleanup = null;

function renderNav(active) {
  const link = (name, label) =>
    h("a", { href: `#/${name}`, class: name === active ? "active" : "" }, label);
  const signedIn = Boolean(token.get());
  fill(
    nav,
    h("a", { class: "brand", href: "#/jobs" }, "gradq"),
    signedIn
      ? h("nav", {}, link("jobs", "Jobs"), link("submit", "Submit"), link("compare", "Compare"))
      : null,
    h("span", { class: "spacer" }),
    h("a", { href: "docs", class: "muted", target: "_blank", rel: "noopener" }, "API docs"),
    signedIn ? h("button", { class: "link", type: "button", onclick: signOut }, "Sign out") : null,
  );
}

function signOut() {
  token.clear();
  go("/login");
}

function render() {
  cleanup?.();
  cleanup = null;
  const { path, query } = currentRoute();
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    go("/jobs");
    return;
  }
  if (!route.public && !token.get()) {
    go("/login", { next: routeString() });
    return;
  }
  renderNav(route.nav);
  const params = path.match(route.pattern).slice(1);
  root.replaceChildren();
  cleanup = route.view(root, { params, query }) || null;
}

window.addEventListener("hashchange", render);
window.addEventListener("gradq:signed-out", () => {
  if (currentRoute().path !== "/login") go("/login", { expired: "1" });
});
render();
