// The dashboard: sign in with a key, pick a campaign, watch it live, drive it (admins).

import { api, ApiError, forgetKey, savedKey, saveKey, takeKeyFromFragment } from "./api.js";
import { byId, h } from "./dom.js";
import * as panels from "./panels.js";
import { EventStream } from "./stream.js";

const STATS_EVERY_MS = 2000;
const CAMPAIGNS_EVERY_MS = 10000;
const POOL_EVERY_MS = 5000;
const CHOSEN = "olive.dashboard.campaign";

// Which buttons apply in which status (a forced stop also hangs up calls left after a stop).
const ENABLED = {
  start: (s) => s.status === "stopped" || s.status === "finished",
  pause: (s) => s.status === "running",
  resume: (s) => s.status === "paused",
  stop: (s) => s.status === "running" || s.status === "paused",
  force: (s) => s.status === "running" || s.status === "paused" || s.active_calls > 0,
};
const DONE = { start: "Started.", pause: "Paused.", resume: "Resumed.", stop: "Stopped.", force: "Stopped; calls hung up: " };

const state = {
  role: null,
  campaignId: "",
  stats: null,
  stream: null,
  generation: 0,
  statsTimer: null,
  listTimer: null,
  poolTimer: null,
  busy: false,
  campaigns: [],  // as last listed
};

function banner(message) {
  const el = byId("banner");
  el.textContent = message || "";
  el.hidden = !message;
}

function showLogin(message) {
  stopWatching();
  clearTimeout(state.listTimer);
  clearTimeout(state.poolTimer);
  state.role = null;
  byId("board").hidden = true;
  byId("who").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = message || "";
  byId("key").value = "";
  byId("key").focus();
}

function signOut(message) {
  forgetKey();
  banner("");
  showLogin(message);
}

// Any API error: a bad key sends the user back to the key form; others show in `where`.
function failed(err, where) {
  if (err instanceof ApiError && err.status === 401) {
    signOut(err.message);
    return;
  }
  if (where) where(err.message);
}

async function signIn() {
  let caller;
  try {
    caller = await api("GET", "/dashboard/whoami");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) signOut(err.message);
    else showLogin(err.message);
    return;
  }
  state.role = caller.role;
  byId("who-text").textContent = `${caller.name} · ${caller.role} key`;
  byId("who").hidden = false;
  byId("login").hidden = true;
  byId("board").hidden = false;
  byId("controls").hidden = caller.role !== "admin";
  byId("readonly").hidden = caller.role === "admin";
  await loadCampaigns();
  loadPool();
  const chosen = openingCampaign(sessionStorage.getItem(CHOSEN) || "");
  if (chosen) {
    byId("campaign").value = chosen;
    choose(chosen);
  }
}

// The campaign the board opens on: the one watched last in this tab, else the first running
// one, else the first listed; an empty board only when there is no campaign at all.
function openingCampaign(saved) {
  const items = state.campaigns || [];
  if (saved && items.some((c) => c.id === saved)) return saved;
  const running = items.find((c) => c.status === "running");
  return (running || items[0] || { id: "" }).id;
}

async function loadCampaigns() {
  clearTimeout(state.listTimer);
  try {
    const page = await api("GET", "/campaigns", { limit: 1000 });
    showCampaigns(page.items);
    banner(page.has_more ? "Showing the first 1,000 campaigns." : "");
  } catch (err) {
    failed(err, (m) => banner(`Cannot list campaigns: ${m}`));
    if (state.role === null) return;
  }
  state.listTimer = setTimeout(loadCampaigns, CAMPAIGNS_EVERY_MS);
}

// The scale-out pool (GET /pool): shown only when olive runs with servers and units (olive serve --scale-out).
async function loadPool() {
  clearTimeout(state.poolTimer);
  try {
    const pool = await api("GET", "/pool");
    const names = Object.fromEntries((state.campaigns || []).map((c) => [c.id, c.name]));
    byId("pool-card").hidden = !pool.servers.length && !pool.units.length;
    panels.renderPool(pool, names);
  } catch (err) {
    failed(err, null);
    if (state.role === null) return;
  }
  state.poolTimer = setTimeout(loadPool, POOL_EVERY_MS);
}

function campaignLabel(campaign) {
  return `${campaign.name} — ${campaign.status}`;
}

function showCampaigns(items) {
  state.campaigns = items;
  const select = byId("campaign");
  const current = [...select.options].slice(1);
  if (current.length === items.length && current.every((o, i) => o.value === items[i].id)) {
    current.forEach((o, i) => { o.textContent = campaignLabel(items[i]); });
    return;
  }
  const keep = select.value;
  select.replaceChildren(h("option", { value: "" }, items.length ? "Choose a campaign…" : "No campaigns yet"),
    ...items.map((c) => h("option", { value: c.id }, campaignLabel(c))));
  select.value = items.some((c) => c.id === keep) ? keep : "";
}

function stopWatching() {
  state.generation += 1;
  clearTimeout(state.statsTimer);
  if (state.stream) state.stream.stop();
  state.stream = null;
  state.stats = null;
}

function choose(campaignId) {
  stopWatching();
  state.campaignId = campaignId;
  sessionStorage.setItem(CHOSEN, campaignId);
  panels.clearFeed();
  byId("action-msg").textContent = "";
  byId("view").hidden = !campaignId;
  byId("no-campaign").hidden = Boolean(campaignId);
  if (!campaignId) return;
  const generation = state.generation;
  pollStats(generation);
  state.stream = new EventStream(campaignId, {
    onEvent: (kind, event) => generation === state.generation && onEvent(kind, event),
    onState: (s, text) => {
      if (generation !== state.generation) return;
      byId("live").dataset.state = s;
      byId("live").textContent = text || "not connected";
    },
    onFatal: (status, message) => failed(new ApiError(status, message), banner),
  }).start();
}

async function pollStats(generation) {
  clearTimeout(state.statsTimer);
  try {
    const stats = await api("GET", `/campaigns/${encodeURIComponent(state.campaignId)}/stats`);
    if (generation !== state.generation) return;
    show(stats);
    banner("");
  } catch (err) {
    if (generation !== state.generation) return;
    failed(err, (m) => banner(`Cannot read the campaign's figures: ${m}`));
    if (state.role === null) return;
  }
  clearTimeout(state.statsTimer); // one timer, however many polls were in flight
  state.statsTimer = setTimeout(() => pollStats(generation), STATS_EVERY_MS);
}

function show(stats) {
  state.stats = stats;
  const option = [...byId("campaign").options].find((o) => o.value === stats.campaign_id);
  if (option) option.textContent = campaignLabel({ name: stats.name, status: stats.status });
  panels.renderHead(stats);
  panels.renderContacts(stats);
  panels.renderAbandon(stats);
  panels.renderOutcomes(stats);
  panels.renderPacing(stats);
  panels.renderUnits(stats);
  panels.renderAgents(stats.agents, state.role === "admin");
  updateControls();
}

function updateControls() {
  for (const button of byId("controls").querySelectorAll("button[data-action]")) {
    button.disabled = state.busy || !state.stats || !ENABLED[button.dataset.action](state.stats);
  }
}

function onEvent(kind, event) {
  if (kind === "call") {
    panels.addCallEvent(event);
  } else if (kind === "agent" && state.stats) {
    const agent = state.stats.agents.find((a) => a.id === event.data.agent_id);
    if (agent && event.data.state) {
      agent.state = event.data.state;
      panels.renderAgents(state.stats.agents, state.role === "admin");
      if (event.data.state === "paused") pollStats(state.generation); // the event has no reason: read it now
    }
  } else if (kind === "campaign" && state.stats && event.data.status) {
    state.stats.status = event.data.status;
    panels.renderHead(state.stats);
    updateControls();
    pollStats(state.generation);
  }
}

function confirmForce() {
  const dialog = byId("confirm");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "force"), { once: true });
    dialog.returnValue = "cancel";
    dialog.showModal();
  });
}

async function act(action) {
  if (action === "force" && !(await confirmForce())) return;
  const message = byId("action-msg");
  const id = encodeURIComponent(state.campaignId);
  const generation = state.generation;
  const [verb, query] = action === "force" ? ["stop", { force: "true" }] : [action, {}];
  state.busy = true;
  updateControls();
  message.className = "action-msg";
  message.textContent = "Working…";
  try {
    const result = await api("POST", `/campaigns/${id}/${verb}`, query);
    if (generation !== state.generation) return;
    message.className = "action-msg good";
    message.textContent = action === "force" ? `${DONE.force}${result.calls_hung_up}.` : DONE[action];
    if (state.stats) state.stats.status = (result.campaign || result).status;
  } catch (err) {
    message.className = "action-msg bad";
    message.textContent = err.message;
    failed(err, null);
  } finally {
    state.busy = false;
    if (generation === state.generation && state.stats) {
      panels.renderHead(state.stats);
      updateControls();
      pollStats(generation);
    }
  }
}

// Force an agent out: their page is signed out, they leave the queues (paused if on a call).
async function forceOut(button) {
  const message = byId("action-msg");
  button.disabled = true;
  try {
    await api("POST", `/agents/${encodeURIComponent(button.dataset.force)}/force-out`);
    message.className = "action-msg good";
    message.textContent = `${button.dataset.name} was forced out.`;
  } catch (err) {
    message.className = "action-msg bad";
    message.textContent = err.message;
    failed(err, null);
  } finally {
    pollStats(state.generation);
  }
}

function main() {
  takeKeyFromFragment();
  byId("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = byId("key").value.trim();
    if (!key) return;
    saveKey(key);
    signIn();
  });
  byId("signout").addEventListener("click", () => signOut(""));
  byId("campaign").addEventListener("change", (event) => choose(event.target.value));
  byId("controls").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && !button.disabled) act(button.dataset.action);
  });
  byId("agents").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-force]");
    if (button && !button.disabled && state.role === "admin") forceOut(button);
  });
  window.addEventListener("hashchange", () => {
    if (new URLSearchParams(window.location.hash.slice(1)).has("key")) {
      takeKeyFromFragment();
      signIn();
    }
  });
  if (savedKey()) signIn();
  else showLogin("");
}

main();
