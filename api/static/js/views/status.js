// The status badge and progress bar shared by the job list and the job page.

import { h } from "../dom.js";
import { queuePosition } from "../format.js";

export function statusBadge(job) {
  const position = queuePosition(job);
  const label = job.cancel_requested && job.status === "running" ? "cancelling" : job.status;
  return h(
    "span",
    { class: `badge status-${job.status}`, dataset: { status: job.status } },
    label,
    position === null ? null : h("span", { class: "queue-position" }, ` #${position} in queue`),
  );
}

export function progress(current, total) {
  const fraction = total ? Math.min(current / total, 1) : 0;
  return h(
    "span",
    { class: "progress", title: `${current} of ${total} epochs` },
    h("progress", { max: total || 1, value: current }),
    h("span", { class: "progress-label" }, `${current}/${total}`),
    h("span", { class: "visually-hidden" }, `${Math.round(fraction * 100)}%`),
  );
}
