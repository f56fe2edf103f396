// Per-epoch rows of one job as columns (epoch, then one array per metric key), append-only.

const SKIP = new Set(["epoch", "step", "id"]);

/** {key: number|null} of one row; the lr list becomes lr/0, lr/1, ... */
export function flatten(row) {
  const values = {};
  for (const [key, value] of Object.entries(row)) {
    if (SKIP.has(key)) continue;
    if (key === "lr" && Array.isArray(value)) {
      value.forEach((lr, group) => {
        values[`lr/${group}`] = typeof lr === "number" ? lr : null;
      });
    } else if (typeof value === "number" || value === null) {
      values[key] = value;
    }
  }
  return values;
}

export class MetricStore {
  constructor() {
    this.epochs = [];
    this.columns = new Map();
  }

  get lastEpoch() {
    return this.epochs.length ? this.epochs[this.epochs.length - 1] : 0;
  }

  get size() {
    return this.epochs.length;
  }

  keys() {
    return [...this.columns.keys()];
  }

  /** Append rows newer than the last epoch; true when a new key appeared. */
  add(rows) {
    let newKey = false;
    for (const row of rows) {
      if (typeof row?.epoch !== "number" || row.epoch <= this.lastEpoch) continue;
      const values = flatten(row);
      for (const key of Object.keys(values)) {
        if (!this.columns.has(key)) {
          this.columns.set(key, new Array(this.epochs.length).fill(null));
          newKey = true;
        }
      }
      this.epochs.push(row.epoch);
      for (const [key, column] of this.columns) column.push(values[key] ?? null);
    }
    return newKey;
  }

  /** uPlot's data: [epochs, ...one column per key]. */
  data(keys) {
    return [this.epochs, ...keys.map((key) => this.columns.get(key) ?? [])];
  }
}
