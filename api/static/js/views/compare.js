// Several jobs' curves of one metric on one chart, refreshed while any of them runs.

import { api, ApiError, readMetrics } from "../api.js";
import { LineChart } from "../charts.js";
import { card, fill, h, table } from "../dom.js";
import { FINISHED, jobTitle, number } from "../format.js";
import { MetricStore } from "../metrics.js";
import { href } from "../router.js";
import { statusBadge } from "./status.js";

const REFRESH_MS = 2000;
const MAX_POINTS = 2000;
const DEFAULT_KEYS = ["train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr/0"];

/** {jobId: {x, y}} from the compare endpoint's answer, or null when its shape is not known. */
export function parseCompare(body) {
  const entries = Array.isArray(body) ? body : (body?.series ?? body?.items);
  if (!Array.isArray(entries)) return null;
  const result = new Map();
  for (const entry of entries) {
    const id = entry?.job_id ?? entry?.id;
    if (!id) return null;
    let x = entry.epochs;
    let y = entry.values;
    const points = entry.points ?? entry.items;
    if (Array.isArray(points)) {
      const pairs = points.map((p) => (Array.isArray(p) ? p : [p.epoch, p.value ?? p[body.key]]));
      x = pairs.map((p) => p[0]);
      y = pairs.map((p) => p[1] ?? null);
    }
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return null;
    result.set(String(id), { x, y });
  }
  return result;
}

export function compareView(root, { query }) {
  const ids = new Set((query.ids || "").split(",").filter(Boolean));
  let key = query.key || "";
  const chart = new LineChart({
    title: "Compare",
    empty: "Pick jobs to compare.",
    logToggle: true,
    height: 360,
  });
  chart.el.id = "chart-compare";
  const jobs = new Map();
  const stores = new Map();
  let served = null; // the compare endpoint's series, when the server has it
  let useEndpoint = true;
  let timer = null;
  let stopped = false;
  const picker = h(
    "div",
    { class: "picker", id: "compare-picker" },
    h("p", { class: "muted" }, "Loading…"),
  );
  const keySelect = h("select", {
    id: "compare-key",
    "aria-label": "metric",
    onchange: (e) => setKey(e.target.value),
  });
  const summary = h("div", { id: "compare-table" });
  const notice = h("p", { class: "error", role: "alert" });

  function saveState() {
    const params = new URLSearchParams({ ids: [...ids].join(","), key });
    history.replaceState(null, "", `#/compare?${params}`);
  }

  function keysKnown() {
    const keys = new Set(DEFAULT_KEYS);
    for (const store of stores.values()) store.keys().forEach((k) => keys.add(k));
    for (const id of ids) {
      Object.keys(jobs.get(id)?.final_metrics || {}).forEach((k) => keys.add(k));
    }
    return [...keys].filter((k) => !k.startsWith("test_")).sort();
  }

  function renderKeys() {
    if (!key) key = "val_loss";
    const options = keysKnown();
    if (!options.includes(key)) options.unshift(key);
    if (options.join("\n") === [...keySelect.options].map((o) => o.value).join("\n")) return;
    fill(
      keySelect,
      options.map((k) => h("option", { value: k, selected: k === key }, k)),
    );
  }

  function series() {
    return [...ids].map((id) => {
      if (served) return { id, ...(served.get(id) ?? { x: [], y: [] }) };
      const store = stores.get(id);
      return { id, x: store?.epochs ?? [], y: store?.columns.get(key) ?? [] };
    });
  }

  function labelOf(id) {
    const job = jobs.get(id);
    const title = job ? jobTitle(job) : id.slice(0, 8);
    const twins = [...ids].filter(
      (other) => jobs.get(other) && jobTitle(jobs.get(other)) === title,
    );
    return twins.length > 1 ? `${title} (${id.slice(0, 8)})` : title;
  }

  function renderChart() {
    const lines = series().filter((s) => s.x.length);
    const aligned = lines.length ? globalThis.uPlot.join(lines.map((s) => [s.x, s.y])) : [[]];
    chart.set(
      aligned[0],
      lines.map((s, i) => ({ label: labelOf(s.id), values: aligned[i + 1] })),
    );
    const rows = series().map((s) => {
      const values = s.y.map((v, i) => [v, s.x[i]]).filter(([v]) => typeof v === "number");
      const best = values.reduce((a, b) => (b[0] < a[0] ? b : a), values[0] ?? [null, null]);
      const job = jobs.get(s.id);
      return h(
        "tr",
        {},
        h("td", {}, h("a", { href: href(`/jobs/${s.id}`) }, labelOf(s.id))),
        h("td", {}, job ? statusBadge(job) : "–"),
        h("td", { class: "num" }, values.length ? number(values[values.length - 1][0]) : "–"),
        h("td", { class: "num" }, best[0] === null ? "–" : `${number(best[0])} (epoch ${best[1]})`),
      );
    });
    fill(
      summary,
      rows.length
        ? table(
            [
              "job",
              "status",
              { label: `last ${key}`, class: "num" },
              { label: `min ${key}`, class: "num" },
            ],
            rows,
          )
        : null,
    );
  }

  async function loadServed() {
    if (!useEndpoint || !ids.size) return false;
    try {
      const body = await api.get("/metrics", {
        job_ids: [...ids].join(","),
        key,
        max_points: MAX_POINTS,
      });
      served = parseCompare(body);
    } catch (error) {
      // a 404 without an error name is a server without the compare route
      if (!(error instanceof ApiError && error.status === 404 && !error.body?.error)) throw error;
      served = null;
    }
    useEndpoint = served !== null;
    return useEndpoint;
  }

  async function loadStores() {
    for (const id of ids) {
      const store = stores.get(id) ?? new MetricStore();
      stores.set(id, store);
      const job = jobs.get(id);
      if (job && FINISHED.has(job.status) && store.size >= job.current_epoch) continue;
      store.add(await readMetrics(id, store.lastEpoch));
    }
  }

  async function refresh() {
    clearTimeout(timer);
    notice.textContent = "";
    try {
      for (const id of ids) {
        if (!FINISHED.has(jobs.get(id)?.status)) jobs.set(id, await api.get(`/jobs/${id}`));
      }
      if (!(await loadServed())) await loadStores();
      renderKeys();
      renderChart();
    } catch (error) {
      notice.textContent = error.message;
    }
    const running = [...ids].some((id) => !FINISHED.has(jobs.get(id)?.status));
    if (!stopped && running) timer = setTimeout(refresh, REFRESH_MS);
  }

  function setKey(next) {
    key = next;
    served = null;
    saveState();
    refresh();
  }

  function toggle(id, checked) {
    if (checked) ids.add(id);
    else ids.delete(id);
    served = null;
    saveState();
    refresh();
  }

  async function loadPicker() {
    const page = await api.get("/jobs", { limit: 100 });
    for (const job of page.items) if (!jobs.has(job.id)) jobs.set(job.id, job);
    const listed = new Set(page.items.map((job) => job.id));
    const extra = [...ids]
      .filter((id) => !listed.has(id))
      .map((id) => jobs.get(id))
      .filter(Boolean);
    fill(
      picker,
      [...page.items, ...extra].map((job) =>
        h(
          "label",
          { class: "pick", dataset: { jobId: job.id } },
          h("input", {
            type: "checkbox",
            checked: ids.has(job.id),
            onchange: (e) => toggle(job.id, e.target.checked),
          }),
          ` ${jobTitle(job)} `,
          h("span", { class: "muted small" }, `${job.status} · ${job.id.slice(0, 8)}`),
        ),
      ),
    );
  }

  root.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Compare"),
      h("div", { class: "actions" }, h("label", {}, "metric ", keySelect)),
    ),
    notice,
    h("div", { class: "compare" }, card("Jobs", picker), h("div", {}, chart.el, summary)),
  );
  renderKeys();
  refresh()
    .then(() => loadPicker())
    .catch((error) => {
      notice.textContent = error.message;
    });
  return () => {
    stopped = true;
    clearTimeout(timer);
    chart.destroy();
  };
}
