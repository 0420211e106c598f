// The agent's page: sign in with the password the supervisor issued, go ready,
// pause with a reason, see the customer when a call connects, dispose it.
//
// The session token lives in this tab's sessionStorage only. Everything goes
// through the /agent/... API; the page follows the agent's own event stream
// (fetch, since EventSource cannot send the token) and re-reads its state on
// every event, so a ring, a connect or a hang-up shows within a second.

import { byId } from "/dashboard/static/dom.js";
import { parseEvents } from "/dashboard/static/stream.js";
import { renderCall, renderMyCallbacks, renderPreview, renderSelf } from "/agent/static/agent-panels.js";

const STORAGE = "olive.agent.session";
const POLL_MS = 5000; // a backstop: events drive the page
const QUIET_LIMIT_MS = 45000;
const SIGNED_OUT = "You were signed out: a supervisor ended your session, or it expired. Sign in again.";

const state = { me: null, callId: null, previewId: null, stream: null, timer: null, generation: 0 };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(STORAGE) || "";
}

function explain(status, body) {
  const said = body && typeof body.message === "string" ? body.message : "";
  if (status === 401) return said || "Your session has ended: sign in again.";
  if (status === 0) return "The olive server cannot be reached.";
  return said || `The server answered ${status}.`;
}

async function api(method, path, body) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, explain(0, null));
  }
  let data = null;
  if ((response.headers.get("content-type") || "").startsWith("application/json")) data = await response.json().catch(() => null);
  if (!response.ok) {
    const fieldErrors = data && Array.isArray(data.errors) ? data.errors.map((e) => e.reason).filter(Boolean) : [];
    throw new ApiError(response.status, [explain(response.status, data), ...fieldErrors].join(" "));
  }
  return data;
}

function banner(message) {
  byId("banner").textContent = message || "";
  byId("banner").hidden = !message;
}

function notice(message) {
  byId("notice").textContent = message || "";
  byId("notice").hidden = !message;
}

function live(kind, text) {
  const el = byId("live");
  el.dataset.state = kind;
  el.textContent = text;
}

function showSignIn(message) {
  state.generation += 1;
  if (state.stream) state.stream.abort();
  state.stream = null;
  clearTimeout(state.timer);
  sessionStorage.removeItem(STORAGE);
  state.me = null;
  state.callId = null;
  byId("desk").hidden = true;
  byId("who").hidden = true;
  byId("signin").hidden = false;
  byId("signin-error").textContent = message || "";
  byId("password").value = "";
  notice("");
  banner("");
  byId("name").focus();
}

function failed(err) {
  if (err instanceof ApiError && err.status === 401) showSignIn(SIGNED_OUT);
  else banner(err.message);
}

async function refresh() {
  const generation = state.generation;
  try {
    const [me, callbacks, preview] = await Promise.all([
      api("GET", "/agent/me"), api("GET", "/agent/callbacks"), api("GET", "/agent/preview")]);
    if (generation !== state.generation) return;
    state.me = me;
    renderSelf(me);
    renderMyCallbacks(callbacks);
    await showCall(me.call_id);
    showPreview(me.call_id ? null : preview.preview);
  } catch (err) {
    if (generation === state.generation) failed(err);
  }
}

async function showCall(callId) {
  if (!callId) {
    state.callId = null;
    byId("call").hidden = true;
    byId("waiting").hidden = false;
    return;
  }
  const pop = await api("GET", `/agent/calls/${encodeURIComponent(callId)}`);
  if (callId !== state.callId) {
    byId("dispose-form").reset();
    byId("callback").hidden = true;
  }
  state.callId = callId;
  byId("call").dataset.call = callId;
  renderCall(pop);
  byId("waiting").hidden = true;
  byId("call").hidden = false;
}

function showPreview(preview) {
  const card = byId("preview");
  if (!preview) {
    state.previewId = null;
    card.hidden = true;
    return;
  }
  if (preview.id !== state.previewId) byId("p-reason").value = "";
  state.previewId = preview.id;
  card.dataset.preview = preview.id;
  card.dataset.contact = preview.contact_id;
  renderPreview(preview);
  byId("waiting").hidden = true;
  byId("p-dial").disabled = false;
  byId("p-skip").disabled = false;
  card.hidden = false;
}

async function signedOut() {
  try {
    await api("GET", "/agent/me");
    return false;
  } catch (err) {
    return err instanceof ApiError && err.status === 401;
  }
}

function poll() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    await refresh();
    if (state.me) poll();
  }, POLL_MS);
}

// The agent's own events; on each, re-read the agent (and the call on screen).
async function follow(generation) {
  let delay = 1000;
  let lastId = null; // the first connection starts from now; a reconnect catches up from the last event
  while (generation === state.generation) {
    const controller = new AbortController();
    state.stream = controller;
    live("connecting", "connecting…");
    try {
      const headers = { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const response = await fetch("/agent/events", {
        headers,
        signal: controller.signal, cache: "no-store",
      });
      if (response.status === 401 || response.status === 403) {
        showSignIn(SIGNED_OUT);
        return;
      }
      if (response.ok && response.body) {
        live("live", "live");
        delay = 1000;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        let watchdog = setTimeout(() => controller.abort(), QUIET_LIMIT_MS);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          clearTimeout(watchdog);
          watchdog = setTimeout(() => controller.abort(), QUIET_LIMIT_MS);
          let messages;
          [messages, buffer] = parseEvents(buffer + value);
          for (const message of messages) {
            if (message.id !== null) lastId = message.id;
            let payload = null;
            try { payload = JSON.parse(message.data); } catch (err) { continue; }
            if (generation !== state.generation) return;
            if (payload.kind === "agent" && payload.data && payload.data.signed_out) {
              // Sessions were ended: this one too, unless it was opened since (then /agent/me still answers).
              if (await signedOut()) {
                showSignIn(SIGNED_OUT);
                return;
              }
            }
            refresh();
          }
        }
        clearTimeout(watchdog);
        // The server ends the stream once the session has ended (revoked or forced out on another
        // node, or expired): sign in again now rather than after a reconnect.
        if (generation === state.generation && await signedOut()) {
          showSignIn(SIGNED_OUT);
          return;
        }
      }
    } catch (err) {
      if (generation !== state.generation) return;
    }
    live("retrying", "reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

function start() {
  byId("signin").hidden = true;
  byId("desk").hidden = false;
  byId("who").hidden = false;
  state.generation += 1;
  follow(state.generation);
  refresh().then(poll);
}

async function act(button, method, path, body, done) {
  button.disabled = true;
  banner("");
  try {
    await api(method, path, body);
    if (done) notice(done);
    await refresh();
  } catch (err) {
    failed(err);
  } finally {
    if (state.me) renderSelf(state.me);
  }
}

byId("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  byId("signin-error").textContent = "";
  try {
    const response = await fetch("/agent/session", {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ name: byId("name").value.trim(), password: byId("password").value }),
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      byId("signin-error").textContent = response.status === 401 ? "The name or the password is wrong." : explain(response.status, data);
      return;
    }
    sessionStorage.setItem(STORAGE, data.token);
    byId("password").value = "";
    start();
  } catch (err) {
    byId("signin-error").textContent = explain(0, null);
  }
});

byId("ready").addEventListener("click", (e) => act(e.currentTarget, "POST", "/agent/ready", undefined, "You are ready: calls come to your phone."));
byId("pause").addEventListener("click", (e) => {
  const reason = byId("pause-reason");
  const label = reason.selectedOptions.length ? reason.selectedOptions[0].textContent : reason.value;
  act(e.currentTarget, "POST", "/agent/pause", { reason: reason.value }, `Paused: ${label}.`);
});
byId("pause-reason").addEventListener("change", () => state.me && renderSelf(state.me));
byId("logout").addEventListener("click", async (e) => {
  e.currentTarget.disabled = true;
  try {
    await api("POST", "/agent/logout");
    await api("DELETE", "/agent/session");
    showSignIn("");
    notice("You are logged out. See you next time.");
  } catch (err) {
    failed(err);
    if (state.me) renderSelf(state.me);
  }
});

byId("p-dial").addEventListener("click", (e) => {
  byId("p-skip").disabled = true;
  act(e.currentTarget, "POST", "/agent/preview/dial", undefined, "Dialing: the customer comes to your phone when they answer.");
});
byId("p-skip").addEventListener("click", (e) => {
  const reason = byId("p-reason").value.trim();
  if (!reason) {
    banner("Say why you skip this contact (Skip reason).");
    byId("p-reason").focus();
    return;
  }
  byId("p-dial").disabled = true;
  act(e.currentTarget, "POST", "/agent/preview/skip", { reason }, "Skipped.");
});

byId("code").addEventListener("change", () => {
  const option = byId("code").selectedOptions[0];
  byId("callback").hidden = !(option && option.dataset.callback === "1");
});

byId("dispose-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!state.callId) return;
  const body = { code: byId("code").value };
  const note = byId("note").value.trim();
  if (note) body.note = note;
  if (!byId("callback").hidden) {
    const at = byId("cb-at").value;
    if (at) body.callback_at = new Date(at).toISOString();
    body.callback_mine = byId("cb-mine").checked;
  }
  await act(byId("dispose"), "POST", `/agent/calls/${encodeURIComponent(state.callId)}/disposition`, body, "Disposition saved.");
  byId("dispose").disabled = false;
});

if (token()) start();
else showSignIn("");
