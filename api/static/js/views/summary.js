// The network summary table (torchsummary's columns) and the metric tables of a job.

import { h, table } from "../dom.js";
import { bytes, number } from "../format.js";

/** The NetworkSummary inside whatever the summary or validate endpoint answered, or null. */
export function findSummary(body) {
  const candidates = [body, body?.summary, body?.network, body?.dry_run?.summary];
  return candidates.find((candidate) => Array.isArray(candidate?.layers)) ?? null;
}

export function summaryTable(summary) {
  const rows = summary.layers.map((layer) =>
    h(
      "tr",
      {},
      h("td", {}, layer.name ? `${layer.name} (${layer.type})` : layer.type),
      h("td", { class: "mono" }, `[-1, ${(layer.output_shape || []).join(", ")}]`),
      h("td", { class: "num" }, number(layer.params)),
    ),
  );
  const totals = [
    ["Input shape", summary.input_shape ? `[${summary.input_shape.join(", ")}]` : null],
    ["Total params", number(summary.total_params)],
    ["Trainable params", number(summary.trainable_params)],
    ["Non-trainable params", number(summary.non_trainable_params)],
    [
      "Params size",
      summary.param_size_mb === undefined ? null : `${number(summary.param_size_mb)} MB`,
    ],
    [
      "Activations per sample",
      summary.activation_bytes === undefined ? null : bytes(summary.activation_bytes),
    ],
  ].filter(([, value]) => value !== null);
  return h(
    "div",
    { class: "summary" },
    table(["Layer (type)", "Output shape", { label: "Param #", class: "num" }], rows, {
      class: "summary-table",
    }),
    h(
      "dl",
      { class: "totals" },
      totals.map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]),
    ),
  );
}

const ORDER = [
  "train_loss",
  "val_loss",
  "test_loss",
  "train_accuracy",
  "val_accuracy",
  "test_accuracy",
];

function rank(key) {
  const index = ORDER.indexOf(key);
  return index < 0 ? ORDER.length : index;
}

/** metric | final | best: the last epoch's metrics (with the test split) and the best epoch's. */
export function metricsTable(job) {
  const final = job.final_metrics || {};
  const best = job.best_metrics || {};
  const keys = [...new Set([...Object.keys(final), ...Object.keys(best)])].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  if (!keys.length) return null;
  const bestLabel = job.best_epoch ? `best (epoch ${job.best_epoch})` : "best";
  const value = (metrics, key) =>
    Array.isArray(metrics[key]) ? metrics[key].map(number).join(", ") : number(metrics[key]);
  const rows = keys.map((key) =>
    h(
      "tr",
      { dataset: { metric: key } },
      h("th", { scope: "row" }, key),
      h("td", { class: "num" }, value(final, key)),
      h("td", { class: "num" }, value(best, key)),
    ),
  );
  return table(
    ["metric", { label: "final", class: "num" }, { label: bestLabel, class: "num" }],
    rows,
    { class: "metrics-table", id: "final-metrics" },
  );
}

export function eventRows(items) {
  return items.map((event) =>
    h(
      "tr",
      { dataset: { kind: event.kind } },
      h("td", { class: "muted" }, event.at ? new Date(event.at).toLocaleTimeString() : "–"),
      h("td", {}, h("span", { class: "event-kind" }, event.kind)),
      h("td", { class: "num" }, event.epoch ?? "–"),
      h("td", { class: "details" }, details(event.data)),
    ),
  );
}

function details(data) {
  if (!data || typeof data !== "object") return "";
  return Object.entries(data)
    .map(
      ([key, value]) =>
        `${key}: ${typeof value === "number" ? number(value) : JSON.stringify(value)}`,
    )
    .join(", ");
}
