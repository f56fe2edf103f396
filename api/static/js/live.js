// Follows one job (metrics, status, events): live over SSE where the API streams the job's
// events, else by polling metrics?since_epoch. Either way the metrics endpoint fills any gap.

import { api, readMetrics, send } from "./api.js";
import { FINISHED } from "./format.js";
import { readEvents } from "./sse.js";

export const POLL_MS = 1000;
const RECONNECTS = 3;
const ROW_EVENTS = new Set(["epoch", "metrics", "message"]);

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal.addEventListener("abort", wake);
  });
}

/** fn, run once at a time: calls while it runs share one more run after it. */
function coalesced(fn) {
  let running = null;
  let next = null;
  return function run() {
    if (!running) {
      running = fn().finally(() => {
        running = null;
      });
      return running;
    }
    next ??= running
      .catch(() => {})
      .then(() => {
        next = null;
        return run();
      });
    return next;
  };
}

/** The epoch row an SSE message carries, or null for other events. */
export function epochRow(event, data) {
  if (!ROW_EVENTS.has(event) || !data || typeof data !== "object" || "kind" in data) return null;
  const row = data.metrics && typeof data.metrics === "object" ? { ...data.metrics } : { ...data };
  row.epoch ??= data.epoch;
  return typeof row.epoch === "number" && Object.keys(row).length > 1 ? row : null;
}

/**
 * Start following a job. Callbacks: onMetrics(newKeys) after rows were added to store,
 * onJob(job), onEvents(items), onMode("stream" | "polling" | "ended"), onError(error).
 * Returns a function that stops it.
 */
export function follow(jobId, store, callbacks) {
  const { onMetrics, onJob, onEvents, onMode, onError } = callbacks;
  const controller = new AbortController();
  const { signal } = controller;
  let eventsAfter = 0;
  let lastEventId = null;

  const catchUp = coalesced(async () => {
    const rows = await readMetrics(jobId, store.lastEpoch, { signal });
    if (rows.length) onMetrics(store.add(rows));
  });

  const refreshJob = coalesced(async () => {
    const job = await api.get(`/jobs/${jobId}`, {}, { signal });
    onJob(job);
    return job;
  });

  const refreshEvents = coalesced(async () => {
    const query = { after_id: eventsAfter, format: "json" };
    const body = await api.get(`/jobs/${jobId}/events`, query, { signal });
    addEvents(Array.isArray(body) ? body : (body?.items ?? []));
  });

  function addEvents(items) {
    const fresh = items.filter((item) => !(item.id <= eventsAfter));
    if (!fresh.length) return;
    eventsAfter = Math.max(eventsAfter, ...fresh.map((item) => item.id ?? 0));
    onEvents(fresh);
  }

  async function settle() {
    await catchUp();
    await refreshEvents();
    return refreshJob();
  }

  function receive(message) {
    if (message.id) lastEventId = message.id;
    let data = null;
    try {
      data = JSON.parse(message.data);
    } catch {
      // a plain-text message: only a prompt to re-read
    }
    const row = epochRow(message.event, data);
    if (row && row.epoch === store.lastEpoch + 1) {
      onMetrics(store.add([row]));
    } else if (row) {
      if (row.epoch > store.lastEpoch) catchUp().catch(onError);
    } else {
      if (typeof data?.id === "number" && typeof data.kind === "string") addEvents([data]);
      else refreshEvents().catch(onError);
      refreshJob().catch(onError); // an event may change the status
    }
  }

  /** false when the API has no event stream for this job; true when a stream ran and ended. */
  async function stream() {
    // gradq's stream ids are "<epoch>-<event id>": start after what the page already has
    const headers = { "Last-Event-ID": lastEventId ?? `${store.lastEpoch}-${eventsAfter}` };
    let response;
    try {
      response = await send("GET", `/jobs/${jobId}/events`, {
        accept: "text/event-stream",
        headers,
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok || !type.startsWith("text/event-stream")) {
      await response.body?.cancel();
      return false;
    }
    onMode("stream");
    try {
      for await (const message of readEvents(response)) receive(message);
    } catch (error) {
      if (signal.aborted) throw error; // a dropped connection is handled as an end
    }
    return true;
  }

  async function poll() {
    onMode("polling");
    while (!signal.aborted) {
      try {
        const job = await settle();
        if (FINISHED.has(job.status)) return;
      } catch (error) {
        if (signal.aborted) return;
        onError(error);
      }
      await sleep(POLL_MS, signal);
    }
  }

  async function run() {
    let job = await settle();
    for (let tries = 0; !FINISHED.has(job.status) && tries < RECONNECTS; tries += 1) {
      if (!(await stream())) break;
      job = await settle();
    }
    if (!FINISHED.has(job.status)) await poll();
    if (!signal.aborted) onMode("ended");
  }

  run().catch((error) => {
    if (!signal.aborted) onError(error);
  });
  return () => controller.abort();
}
