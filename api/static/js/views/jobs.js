// The caller's jobs, newest first, refreshed while any of them is queued or running.

import { api } from "../api.js";
import { fill, h, table } from "../dom.js";
import { dateTime, duration, FINISHED, jobTitle, number } from "../format.js";
import { go, href } from "../router.js";
import { progress, statusBadge } from "./status.js";

const REFRESH_MS = 2000;
const NUM = (label) => ({ label, class: "num" });
const PAGE = 50;
const MAX_PAGE = 500;
const STATUSES = ["", "queued", "running", "succeeded", "failed", "cancelled"];

export function jobsView(root, { query }) {
  const status = STATUSES.includes(query.status) ? query.status : "";
  const selected = new Set();
  const body = h("div", { id: "jobs" }, h("p", { class: "muted" }, "Loading…"));
  const compareButton = h(
    "button",
    { type: "button", id: "compare-selected", disabled: true, onclick: compare },
    "Compare selected",
  );
  let timer = null;
  let stopped = false;
  let jobs = [];
  let nextCursor = null;

  function compare() {
    go("/compare", { ids: [...selected].join(",") });
  }

  function toggle(id, checked) {
    if (checked) selected.add(id);
    else selected.delete(id);
    compareButton.disabled = selected.size < 1;
    compareButton.textContent = `Compare selected (${selected.size})`;
  }

  function row(job) {
    const metrics = job.final_metrics || {};
    return h(
      "tr",
      { dataset: { jobId: job.id } },
      h(
        "td",
        {},
        h("input", {
          type: "checkbox",
          checked: selected.has(job.id),
          "aria-label": `select ${jobTitle(job)}`,
          onchange: (event) => toggle(job.id, event.target.checked),
        }),
      ),
      h("td", { class: "job-name" }, h("a", { href: href(`/jobs/${job.id}`) }, jobTitle(job))),
      h("td", {}, statusBadge(job)),
      h("td", {}, progress(job.current_epoch, job.epochs)),
      h("td", { class: "muted" }, dateTime(job.created_at)),
      h("td", { class: "num" }, duration(job.started_at, job.finished_at)),
      h("td", { class: "num" }, number(metrics.train_loss)),
      h("td", { class: "num" }, number(metrics.val_loss)),
    );
  }

  function render() {
    if (!jobs.length) {
      fill(
        body,
        h(
          "p",
          { class: "muted" },
          "No jobs yet. ",
          h("a", { href: "#/submit" }, "Submit one"),
          ".",
        ),
      );
      return;
    }
    fill(
      body,
      table(
        [
          "",
          "Name",
          "Status",
          "Epochs",
          "Created",
          NUM("Duration"),
          NUM("Train loss"),
          NUM("Val loss"),
        ],
        jobs.map(row),
        { class: "jobs" },
      ),
      nextCursor ? h("button", { type: "button", onclick: more }, "Load more") : null,
    );
  }

  async function load() {
    // as many as are shown, so that "Load more" pages stay through refreshes
    const limit = Math.min(Math.max(jobs.length, PAGE), MAX_PAGE);
    const page = await api.get("/jobs", { status, limit });
    jobs = page.items;
    nextCursor = page.next_cursor;
  }

  async function more() {
    const page = await api.get("/jobs", { status, limit: PAGE, cursor: nextCursor });
    jobs = [...jobs, ...page.items];
    nextCursor = page.next_cursor;
    render();
  }

  async function refresh() {
    try {
      await load();
      render();
    } catch (error) {
      fill(body, h("p", { class: "error" }, error.message));
    }
    if (!stopped && jobs.some((job) => !FINISHED.has(job.status))) {
      timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  const filter = h(
    "select",
    {
      id: "status-filter",
      "aria-label": "status",
      onchange: (event) =>
        go("/jobs", event.target.value ? { status: event.target.value } : undefined),
    },
    STATUSES.map((value) =>
      h("option", { value, selected: value === status }, value || "all statuses"),
    ),
  );
  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Jobs"),
      h(
        "div",
        { class: "actions" },
        filter,
        compareButton,
        h("a", { class: "button primary", href: "#/submit" }, "New job"),
      ),
    ),
    body,
  );
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
