// Hash routes: "#/compare?ids=a,b" is {path: "/compare", query: {ids: "a,b"}}.

export function currentRoute() {
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(search)) };
}

/** The route as a string, as go() takes it back. */
export function routeString() {
  return location.hash.replace(/^#/, "") || "/";
}

export function go(path, query) {
  const search = query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";
  location.hash = `#${path}${search}`;
}

export function href(path, query) {
  const search = query && Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";
  return `#${path}${search}`;
}
