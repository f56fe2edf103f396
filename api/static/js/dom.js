// Elements are built from data with textContent only: nothing from the API is ever parsed as HTML.

const FORBIDDEN = new Set(["innerHTML", "outerHTML", "srcdoc"]);

/** h("a", {href, class, onclick}, child, ...): a new element; strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (FORBIDDEN.has(key)) throw new Error(`h(): ${key} is not allowed`);
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof el[key] !== "object") el[key] = value;
    else if (value !== false) el.setAttribute(key, value === true ? "" : String(value));
  }
  appendAll(el, children);
  return el;
}

export function appendAll(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  return appendAll(el, children);
}

/** headers: labels, or {label, class} for a header cell with a class (e.g. "num"). */
export function table(headers, rows, props = {}) {
  const cell = (header) =>
    typeof header === "object"
      ? h("th", { class: header.class }, header.label)
      : h("th", {}, header);
  return h("table", props, h("thead", {}, h("tr", {}, headers.map(cell))), h("tbody", {}, rows));
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, children);
}
