// Line charts on uPlot (vendored in static/vendor/uplot): x is the epoch, one line per series.

import { h } from "./dom.js";
import { number } from "./format.js";

export const COLORS = [
  "#2563eb",
  "#dc2626",
  "#059669",
  "#d97706",
  "#7c3aed",
  "#0891b2",
  "#db2777",
  "#4b5563",
];

function tick(value) {
  return value === null ? "" : number(value);
}

export class LineChart {
  constructor({ title, empty = "Waiting for the first epoch…", logToggle = false, height = 240 }) {
    this.height = height;
    this.log = false;
    this.plot = null;
    this.labels = [];
    this.last = { x: [], series: [] };
    this.mount = h("div", { class: "chart-plot" });
    this.note = h("p", { class: "chart-empty" }, empty);
    const toggle = logToggle
      ? h(
          "label",
          { class: "chart-toggle" },
          h("input", { type: "checkbox", onchange: (event) => this.setLog(event.target.checked) }),
          " log scale",
        )
      : null;
    this.el = h(
      "figure",
      { class: "chart", dataset: { points: "0", series: "0" } },
      h("figcaption", {}, h("span", {}, title), toggle),
      this.note,
      this.mount,
    );
    this.resize = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.resize.observe(this.mount);
  }

  setEmptyText(text) {
    this.note.textContent = text;
  }

  size() {
    return { width: Math.max(this.mount.clientWidth, 200), height: this.height };
  }

  setLog(log) {
    this.log = log;
    this.labels = [];
    this.set(this.last.x, this.last.series);
  }

  /** x: the epochs; series: [{label, values}] with values aligned to x (null = no point). */
  set(x, series) {
    this.last = { x, series };
    this.el.dataset.points = String(x.length);
    this.el.dataset.series = String(series.length);
    const empty = !x.length || !series.length;
    this.note.hidden = !empty;
    if (empty) return;
    const positive = (values) => values.map((value) => (value > 0 ? value : null));
    const data = [x, ...series.map((s) => (this.log ? positive(s.values) : s.values))];
    const labels = series.map((s) => s.label);
    if (this.plot && labels.join("\n") === this.labels.join("\n")) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.labels = labels;
    this.plot = new globalThis.uPlot(this.options(labels), data, this.mount);
  }

  options(labels) {
    return {
      ...this.size(),
      scales: { x: { time: false }, y: this.log ? { distr: 3 } : {} },
      axes: [{ label: "epoch" }, { size: 70, values: (_u, splits) => splits.map(tick) }],
      series: [
        { label: "epoch" },
        ...labels.map((label, i) => ({
          label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: true,
          points: { show: false },
        })),
      ],
      cursor: { drag: { x: true, y: false } },
    };
  }

  destroy() {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }
}
