// Talking to olive's REST API with the user's key.
//
// The key lives in this tab's sessionStorage only. A link may carry it in the
// URL fragment (#key=olive_…): fragments never reach the server or its logs,
// and the page removes it from the address bar at once.

const STORAGE = "olive.dashboard.key";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function takeKeyFromFragment() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const key = params.get("key");
  if (key !== null) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    if (key.trim()) saveKey(key.trim());
  }
}

export function savedKey() {
  return sessionStorage.getItem(STORAGE) || "";
}

export function saveKey(key) {
  sessionStorage.setItem(STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORAGE);
}

export function authHeaders(extra = {}) {
  return { ...extra, Authorization: `Bearer ${savedKey()}`, Accept: "application/json" };
}

// A plain-words message for an error response, from its status and ErrorBody.
export function explain(status, body) {
  const said = body && typeof body.message === "string" ? body.message : "";
  if (status === 401) return "This API key was not accepted (401): it is wrong, or it was revoked.";
  if (status === 403) return "This key can only read (viewer role): that needs an admin key (403).";
  if (status === 404) return said || "Not found (404): it may have been deleted.";
  if (status === 409) return said ? `Refused: ${said}` : "Refused: it clashes with the campaign's state (409).";
  if (status === 0) return "The olive server cannot be reached.";
  return said || `The server answered ${status}.`;
}

// GET/POST a path; returns the JSON body, or throws an ApiError with a clear message.
export async function api(method, path, query = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
  let response;
  try {
    response = await fetch(url, { method, headers: authHeaders(), cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, explain(0, null));
  }
  let body = null;
  if ((response.headers.get("content-type") || "").startsWith("application/json")) {
    body = await response.json().catch(() => null);
  }
  if (!response.ok) throw new ApiError(response.status, explain(response.status, body));
  return body;
}
