// One job: live loss, validation and lr charts, events, final metrics, network summary, weights.

import { api, readBody, send } from "../api.js";
import { LineChart } from "../charts.js";
import { card, fill, h, table } from "../dom.js";
import { dateTime, duration, FINISHED, jobTitle } from "../format.js";
import { follow, POLL_MS } from "../live.js";
import { MetricStore } from "../metrics.js";
import { href } from "../router.js";
import { progress, statusBadge } from "./status.js";
import { eventRows, findSummary, metricsTable, summaryTable } from "./summary.js";

const REDRAW_MS = 100;

const CHARTS = [
  { id: "chart-loss", title: "Loss", match: /(_loss|_penalty)$/ },
  { id: "chart-quality", title: "Accuracy / R² / MAE", match: /^(train|val)_(accuracy|r2|mae)$/ },
  { id: "chart-lr", title: "Learning rate", match: /^lr\/\d+$/, logToggle: true },
];

export function jobView(root, { params: [jobId] }) {
  const store = new MetricStore();
  const charts = CHARTS.map((spec) => {
    const chart = new LineChart({ title: spec.title, logToggle: spec.logToggle });
    chart.el.id = spec.id;
    return { ...spec, chart };
  });
  const head = h("div", { class: "job-head" }, h("h1", {}, "Loading…"));
  const live = h("span", { class: "live muted", id: "live-mode" });
  const notice = h("p", { class: "notice", role: "status" });
  const failure = h("div");
  const finalCard = card("Final metrics", h("p", { class: "muted" }, "When the job ends."));
  finalCard.id = "final";
  const eventsBody = h("tbody");
  const events = [];
  const summaryCard = card("Network", h("p", { class: "muted" }, "Loading…"));
  summaryCard.id = "summary";
  const specBlock = h("pre", { class: "spec" });
  const boundaryCard = h("section", { class: "card", id: "boundary", hidden: true });
  let boundaryUrl = null;
  const progressSlot = h("div", { class: "progress-slot" });
  let job = null;
  let signature = "";

  function renderProgress() {
    fill(progressSlot, progress(Math.max(job.current_epoch, store.lastEpoch), job.epochs));
  }

  function renderHead() {
    const cancellable = !FINISHED.has(job.status) && !job.cancel_requested;
    const succeeded = job.status === "succeeded";
    fill(
      head,
      h(
        "div",
        { class: "title-row" },
        h("h1", { id: "job-title" }, jobTitle(job)),
        statusBadge(job),
        live,
      ),
      h(
        "dl",
        { class: "meta" },
        h("dt", {}, "id"),
        h("dd", { class: "mono" }, job.id),
        h("dt", {}, "created"),
        h("dd", {}, dateTime(job.created_at)),
        h("dt", {}, "ran for"),
        h("dd", {}, duration(job.started_at, job.finished_at)),
        job.stop_reason ? [h("dt", {}, "stopped"), h("dd", {}, job.stop_reason)] : null,
      ),
      progressSlot,
      h(
        "div",
        { class: "actions" },
        cancellable
          ? h("button", { type: "button", id: "cancel", onclick: cancel }, "Cancel")
          : null,
        succeeded
          ? h(
              "button",
              { type: "button", id: "weights-final", onclick: () => download("final") },
              "Download weights",
            )
          : null,
        succeeded && job.best_epoch
          ? h(
              "button",
              { type: "button", id: "weights-best", onclick: () => download("best") },
              `Best weights (epoch ${job.best_epoch})`,
            )
          : null,
        h("a", { class: "button", href: href("/compare", { ids: job.id }) }, "Compare…"),
      ),
    );
  }

  function onJob(next) {
    const nextSignature = JSON.stringify({ ...next, spec: null });
    if (nextSignature === signature) return; // polls repeat it: keep buttons under the pointer
    signature = nextSignature;
    job = next;
    renderHead();
    renderProgress();
    fill(
      failure,
      job.error ? h("pre", { class: "error-block", id: "job-error" }, job.error) : null,
    );
    const metrics = metricsTable(job);
    fill(
      finalCard,
      h("h2", {}, "Final metrics"),
      metrics ?? h("p", { class: "muted" }, "When the job ends."),
    );
    if (!specBlock.textContent) specBlock.textContent = JSON.stringify(job.spec, null, 2);
    if (job.status === "succeeded" && boundaryUrl === null) {
      boundaryUrl = "";
      loadBoundary().catch(onError);
    }
  }

  // a fast job streams hundreds of epochs a second: redraw at most every REDRAW_MS, not per row
  let redrawTimer = null;
  function onMetrics() {
    redrawTimer ??= setTimeout(() => {
      redrawTimer = null;
      redraw();
    }, REDRAW_MS);
  }

  function redraw() {
    for (const { chart, match } of charts) {
      const keys = store.keys().filter((key) => match.test(key));
      chart.set(
        store.epochs,
        keys.map((key) => ({ label: key, values: store.columns.get(key) })),
      );
    }
    if (job) renderProgress();
  }

  function onEvents(items) {
    const known = new Set(events.map((event) => event.id));
    events.push(...items.filter((event) => !known.has(event.id)));
    fill(eventsBody, eventRows(events));
  }

  function onMode(mode) {
    const text = {
      stream: "live: event stream",
      polling: `live: polling every ${POLL_MS / 1000} s`,
      ended: "",
    };
    live.textContent = text[mode] ?? "";
    live.dataset.mode = mode;
    if (mode === "ended" && !store.size) {
      for (const { chart } of charts) chart.setEmptyText("No epochs were recorded.");
    }
  }

  function onError(error) {
    notice.textContent = error.message;
  }

  async function cancel() {
    try {
      onJob(await api.post(`/jobs/${jobId}/cancel`));
    } catch (error) {
      onError(error);
    }
  }

  async function download(which) {
    notice.textContent = "";
    const response = await send("GET", `/jobs/${jobId}/weights`, {
      query: { which },
      accept: "application/octet-stream, */*",
    });
    if (!response.ok) {
      const body = await readBody(response);
      notice.textContent =
        response.status === 404
          ? "This server has no weights for the job."
          : `Download failed: ${body?.detail ?? response.status}`;
      return;
    }
    const disposition = response.headers.get("Content-Disposition") || "";
    const named = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
    const fallback = `${jobTitle(job).replace(/[^\w.-]+/g, "_")}-${which}.safetensors`;
    const link = h("a", {
      href: URL.createObjectURL(await response.blob()),
      download: named ? decodeURIComponent(named) : fallback,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  }

  /** The decision boundary of a classifier of 2-D points; other jobs have none. */
  async function loadBoundary() {
    const response = await send("GET", `/jobs/${jobId}/decision_boundary.png`, {
      accept: "image/png",
    });
    if (!response.ok) {
      await response.body?.cancel();
      return;
    }
    boundaryUrl = URL.createObjectURL(await response.blob());
    const image = h("img", { src: boundaryUrl, alt: `decision boundary of ${jobTitle(job)}` });
    fill(boundaryCard, h("h2", {}, "Decision boundary"), image);
    boundaryCard.hidden = false;
  }

  async function loadSummary() {
    let body = null;
    const response = await send("GET", `/jobs/${jobId}/summary`);
    if (response.ok) body = await readBody(response);
    else await response.body?.cancel();
    let summary = findSummary(body);
    if (!summary) {
      // servers without the summary route: the validate endpoint builds the same table
      const spec = job?.spec ?? (await api.get(`/jobs/${jobId}`)).spec;
      summary = findSummary(await api.post("/jobs/validate", { spec }));
    }
    fill(
      summaryCard,
      h("h2", {}, "Network"),
      summary ? summaryTable(summary) : h("p", { class: "muted" }, "No summary."),
    );
  }

  root.append(
    head,
    notice,
    failure,
    h(
      "div",
      { class: "charts" },
      charts.map(({ chart }) => chart.el),
    ),
    h(
      "div",
      { class: "grid two" },
      finalCard,
      card(
        "Events",
        table(["time", "event", { label: "epoch", class: "num" }, "details"], [], {
          class: "events",
          id: "events",
        }),
      ),
    ),
    h("div", { class: "grid two" }, summaryCard, boundaryCard),
    h("details", { class: "card" }, h("summary", {}, "Spec"), specBlock),
  );
  root.querySelector("#events").tBodies[0].replaceWith(eventsBody);
  const stop = follow(jobId, store, { onMetrics, onJob, onEvents, onMode, onError });
  loadSummary().catch((error) =>
    fill(summaryCard, h("h2", {}, "Network"), h("p", { class: "error" }, error.message)),
  );
  return () => {
    stop();
    clearTimeout(redrawTimer);
    for (const { chart } of charts) chart.destroy();
    if (boundaryUrl) URL.revokeObjectURL(boundaryUrl);
  };
}
