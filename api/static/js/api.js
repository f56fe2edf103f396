// The gradq HTTP API as the page uses it: bearer token from sessionStorage, errors as ApiError.

const TOKEN_KEY = "gradq.token";
const API_ROOT = "api/v1";
const PAGE = 10000;

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }

  /** [{field, msg}] of a 422, or [] */
  get fields() {
    const detail = this.body?.detail;
    if (!Array.isArray(detail)) return [];
    return detail.map((item) => ({
      field: item.field ?? (item.loc || []).join("."),
      msg: item.msg ?? JSON.stringify(item),
    }));
  }
}

function describe(status, body) {
  const detail = body?.detail;
  if (typeof detail === "string") return body.error ? `${body.error}: ${detail}` : detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${item.field ?? item.loc?.join(".")}: ${item.msg}`).join("; ");
  }
  return `HTTP ${status}`;
}

export function url(path, query = {}) {
  const target = new URL(`${API_ROOT}${path}`, document.baseURI);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") {
      target.searchParams.set(key, String(value));
    }
  }
  return target;
}

/** fetch() with the token; the Response as it came (for streams and downloads). */
export async function send(method, path, { query, body, accept, signal, headers: extra } = {}) {
  const headers = { Accept: accept || "application/json", ...extra };
  const current = token.get();
  if (current) headers.Authorization = `Bearer ${current}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url(path, query), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
  });
  if (response.status === 401) {
    token.clear();
    window.dispatchEvent(new CustomEvent("gradq:signed-out"));
  }
  return response;
}

export async function readBody(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return { detail: text.slice(0, 300) };
  }
}

export async function request(method, path, options = {}) {
  const response = await send(method, path, options);
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export const api = {
  get: (path, query, options = {}) => request("GET", path, { ...options, query }),
  post: (path, body, options = {}) => request("POST", path, { ...options, body }),
};

/** Every epoch after sinceEpoch, paging on next_since_epoch. */
export async function readMetrics(jobId, sinceEpoch = 0, { signal, maxPoints } = {}) {
  const items = [];
  let since = sinceEpoch;
  for (;;) {
    const page = await api.get(
      `/jobs/${jobId}/metrics`,
      { since_epoch: since, limit: PAGE, max_points: maxPoints },
      { signal },
    );
    items.push(...page.items);
    if (page.items.length < PAGE || page.next_since_epoch <= since) return items;
    since = page.next_since_epoch;
  }
}
