// The campaign's panels, drawn from /campaigns/{id}/stats and the event stream.

import { byId, clock, figures, fill, h, num, pct, seconds, words } from "./dom.js";

export const ABANDON_TARGET = 0.03;
const CLOSE = 0.8; // "close" from 80% of the target
export const FEED_CAP = 50;

export function rateLevel(rate) {
  if (rate >= ABANDON_TARGET) return "over";
  if (rate >= ABANDON_TARGET * CLOSE) return "close";
  return "ok";
}

const LEVEL_WORDS = { ok: "under", close: "close", over: "over" };

export function statusNote(stats) {
  if (stats.note) return stats.note;
  if (stats.status === "running") return "Dialing.";
  if (stats.status === "paused") return "Paused: no new calls; calls in progress go on.";
  if (stats.status === "finished") return "Finished: every contact is done or out of attempts.";
  return "Stopped: not dialing.";
}

export function renderHead(stats) {
  byId("c-name").textContent = stats.name;
  const badge = byId("c-status");
  badge.textContent = stats.status;
  badge.className = `badge ${stats.status}`;
  byId("c-note").textContent = statusNote(stats);
}

export function renderContacts(stats) {
  const total = Object.values(stats.contacts).reduce((a, b) => a + b, 0);
  const remaining = stats.contacts_remaining;
  const done = Math.max(0, total - remaining);
  const share = total ? done / total : 0;
  const breakdown = Object.entries(stats.contacts).map(([status, count]) => `${words(status)} ${num(count)}`).join(" · ");
  fill(
    byId("contacts"),
    figures([["Done", num(done)], ["Remaining", num(remaining)], ["Total", num(total)]]),
    h("progress", { class: "progress", max: total || 1, value: done, "aria-label": "Contacts done", "aria-valuetext": `${pct(share, 0)} done` }),
    h("p", { class: "hint" }, `${pct(share, 0)} done`, breakdown ? ` — ${breakdown}` : ""),
  );
}

export function renderAbandon(stats) {
  const windows = [["campaign", "Campaign"], ["24h", "Last 24 h"], ["30d", "Last 30 days"]];
  const rows = windows.map(([key, label]) => {
    const w = stats.abandon[key] || { rate: 0, abandoned: 0, live_answers: 0 };
    const level = rateLevel(w.rate);
    return h(
      "tr", { "data-window": key },
      h("th", { scope: "row" }, label),
      h("td", { class: `num rate ${level}` }, pct(w.rate, 2)),
      h("td", { class: "num" }, `${num(w.abandoned)} of ${num(w.live_answers)}`),
      h("td", {}, h("span", { class: `badge ${level}`, title: `${LEVEL_WORDS[level]} the 3% target` }, LEVEL_WORDS[level])),
    );
  });
  fill(
    byId("abandon"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Window"), h("th", { scope: "col", class: "num" }, "Rate"),
        h("th", { scope: "col", class: "num" }, "Abandoned of live"), h("th", { scope: "col" }, "vs 3%"))),
      h("tbody", {}, rows))),
  );
}

export function renderOutcomes(stats) {
  const entries = Object.entries(stats.outcomes).sort((a, b) => b[1] - a[1]);
  const most = entries.length ? entries[0][1] : 0;
  const table = entries.length
    ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col", class: "num" }, "Calls"),
          h("th", { scope: "col", class: "num" }, "Share"), h("td", { class: "bar-cell", "aria-hidden": "true" }))),
        h("tbody", {}, entries.map(([outcome, count]) => h("tr", { "data-outcome": outcome },
          h("th", { scope: "row" }, words(outcome)),
          h("td", { class: "num" }, num(count)),
          h("td", { class: "num" }, pct(stats.calls ? count / stats.calls : 0, 0)),
          h("td", { class: "bar-cell", "aria-hidden": "true" }, h("span", { class: "bar", width: `${most ? (100 * count) / most : 0}%` })))))))
    : h("p", { class: "hint" }, "No call has ended yet.");
  fill(byId("outcomes"), figures([["Calls", num(stats.calls), { id: "calls-total" }], ["In progress", num(stats.active_calls)]]), table);
}

function estimate(name, value) {
  if (value === null || value === undefined) return "—";
  if (name === "warm" || name === "paying_back") return value ? "yes" : "no";
  if (name.includes("rate") || name === "risk_threshold") return pct(value, 2);
  if (name.endsWith("_s")) return seconds(value);
  return num(value);
}

export function renderPacing(stats) {
  const pacer = stats.pacer || {};
  const estimates = Object.entries(pacer.estimates || {});
  const decision = pacer.last_decision;
  fill(
    byId("pacing"),
    figures([
      ["Occupancy", pct(stats.occupancy, 0)],
      ["Connects / agent-hour", num(stats.connects_per_agent_hour)],
      ["Dial level", num(stats.dial_level)],
      ["Talk min / agent-hour", num(stats.talk_min_per_agent_hour)],
      ["Agent-hours", num(stats.agent_hours)],
      ["Pacer", pacer.mode || "—", { class: "small" }],
    ]),
    decision
      ? h("p", { class: "hint" }, `Last decision: ${num(decision.dials)} dial(s)`, decision.reason === stats.note ? " (the note above)" : ` — ${decision.reason}`)
      : null,
    estimates.length
      ? h("details", {}, h("summary", {}, `Pacer estimates (${estimates.length})`),
          h("table", {}, h("tbody", {}, estimates.map(([name, value]) =>
            h("tr", {}, h("th", { scope: "row" }, words(name)), h("td", { class: "num" }, estimate(name, value)))))))
      : h("p", { class: "hint" }, pacer.mode ? `The ${pacer.mode} pacer keeps no estimates.` : "The pacer's figures appear once the campaign runs in this server."),
  );
}

// olive serve --scale-out: each server's figures, as the node holding its unit published them
// (the CLI's "by server" table). The card is shown only when there are units (see app.js).
export function unitState(u) {
  const age = `${Math.round(u.age_s)} s old`;
  return u.stale ? `stale, ${age}; held by ${u.owner_node || "no node"}` : `live, ${age}`;
}

export function renderUnits(stats) {
  const units = stats.units || [];
  const card = byId("units-card");
  card.hidden = !units.length;
  if (!units.length) {
    byId("units").replaceChildren();
    return;
  }
  const decision = (u) => (u.pacer || {}).last_decision;
  fill(
    byId("units"),
    h("div", { class: "table-wrap" }, h("table", { id: "units-table", "aria-labelledby": "h-units" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Server"), h("th", { scope: "col" }, "Node"),
        h("th", { scope: "col" }, "Figures"), h("th", { scope: "col", class: "num" }, "Dials"),
        h("th", { scope: "col", class: "num" }, "Connects"), h("th", { scope: "col", class: "num" }, "Occupancy"),
        h("th", { scope: "col" }, "Last decision"), h("th", { scope: "col" }, "Note"))),
      h("tbody", {}, units.map((u) => h("tr", { "data-server": u.server, "data-stale": u.stale ? "yes" : "no" },
        h("th", { scope: "row" }, u.server),
        h("td", {}, u.node),
        h("td", { class: u.stale ? "unit-state stale" : "unit-state" }, unitState(u)),
        h("td", { class: "num" }, num(u.dials)),
        h("td", { class: "num" }, num(u.connects)),
        h("td", { class: "num" }, pct(u.occupancy, 1)),
        h("td", {}, decision(u) ? `${num(decision(u).dials)}: ${decision(u).reason}` : "—"),
        h("td", {}, u.note || "")))))),
  );
}

// With ``canForce`` (admin keys), each agent has a "Force out" button (see app.js).
export function renderAgents(agents, canForce = false) {
  if (!agents.length) {
    fill(byId("agents"), h("p", { class: "hint" }, "This campaign has no agents."));
    return;
  }
  const counts = {};
  for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
  const summary = Object.entries(counts).map(([state, n]) => `${words(state)} ${n}`).join(" · ");
  fill(
    byId("agents"),
    h("p", { class: "hint" }, summary),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "Device"),
        h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Pause reason"),
        canForce ? h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")) : null)),
      h("tbody", {}, agents.map((a) => h("tr", { "data-agent": a.id, "data-state": a.state },
        h("th", { scope: "row" }, a.name),
        h("td", {}, a.interface),
        h("td", {}, h("span", { class: `badge ${a.state}` }, words(a.state))),
        h("td", {}, a.pause_reason ? words(a.pause_reason) : ""),
        canForce ? h("td", {}, h("button", { type: "button", class: "small", "data-force": a.id, "data-name": a.name,
          "aria-label": `Force ${a.name} out` }, "Force out")) : null))))),
  );
}

// The pool (GET /pool): each server's health, the live nodes, and each unit (a campaign on a server)
// with the node holding its lease. ``names``: campaign id -> name, for the campaigns listed.
export function renderPool(pool, names = {}) {
  const held = {};
  for (const u of pool.units) if (u.owner_node) held[u.owner_node] = (held[u.owner_node] || 0) + 1;
  const owned = (u) => u.owner_node && u.expires_at && Date.parse(u.expires_at) > Date.now();
  // Only the views that count make the server's health (fresh, from a live node): those are shown.
  const counting = (s) => (s.seen_by || []).filter((v) => v.counts);
  const split = (s) => new Set(counting(s).map((v) => v.health)).size > 1;
  fill(
    byId("pool"),
    h("div", { class: "table-wrap" }, h("table", { id: "pool-servers" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Server"), h("th", { scope: "col" }, "Health"),
        h("th", { scope: "col" }, "Note"), h("th", { scope: "col" }, "Seen by"),
        h("th", { scope: "col", class: "num" }, "Max channels"))),
      h("tbody", {}, pool.servers.map((s) => h("tr", { "data-server": s.name, "data-health": s.health, "data-split": split(s) ? "yes" : "no" },
        h("th", { scope: "row" }, s.name),
        h("td", {}, h("span", { class: `badge health-${s.health}` }, s.health),
          split(s) ? h("span", { class: "hint split" }, " nodes disagree") : null),
        h("td", {}, s.health_note || ""),
        h("td", { class: "seen-by" }, counting(s).length
          ? counting(s).map((v) => h("span", { class: "seen", "data-node": v.node, "data-health": v.health, title: v.note || "" },
              `${v.node} `, h("span", { class: `badge health-${v.health}` }, v.health)))
          : h("span", { class: "hint" }, "no node now")),
        h("td", { class: "num" }, s.max_channels === null ? "no limit" : num(s.max_channels))))))),
    h("p", { class: "hint", id: "pool-nodes" }, pool.nodes.length
      ? `Nodes: ${pool.nodes.map((n) => `${n.name} (${held[n.name] || 0} unit${held[n.name] === 1 ? "" : "s"})`).join(" · ")}`
      : "No live node."),
    pool.units.length
      ? h("div", { class: "table-wrap" }, h("table", { id: "pool-units" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Campaign"), h("th", { scope: "col" }, "Server"),
            h("th", { scope: "col" }, "Owner"), h("th", { scope: "col", class: "num" }, "Token"))),
          h("tbody", {}, pool.units.map((u) => h("tr", { "data-unit": `${u.campaign_id}@${u.server}`, "data-owner": owned(u) ? u.owner_node : "" },
            h("th", { scope: "row" }, names[u.campaign_id] || u.campaign_id),
            h("td", {}, u.server),
            h("td", {}, owned(u) ? u.owner_node : h("span", { class: "hint" }, "nobody")),
            h("td", { class: "num" }, num(u.token)))))))
      : h("p", { class: "hint" }, "No unit: no campaign runs on the pool."),
  );
}

// One call event at the top of the feed; the feed keeps the newest FEED_CAP.
// Events that change neither the state nor the outcome (a leg of the call moved) are left out.
export function addCallEvent(event) {
  const d = event.data || {};
  if (d.previous === d.state && !d.outcome) return;
  const feed = byId("feed");
  const change = d.previous && d.previous !== d.state ? `${words(d.previous)} → ${words(d.state)}` : words(d.state || "");
  const outcome = [d.outcome ? h("span", { class: "outcome" }, words(d.outcome)) : null, d.agent ? ` ${d.agent}` : null];
  feed.prepend(h("li", { "data-state": d.state || "", "data-outcome": d.outcome || "" },
    h("time", { datetime: event.at }, clock(event.at)),
    h("span", { class: "call-id", title: d.call_id || "" }, d.call_id || ""),
    h("span", {}, change),
    h("span", {}, outcome)));
  while (feed.children.length > FEED_CAP) feed.lastElementChild.remove();
  byId("feed-empty").hidden = true;
}

export function clearFeed() {
  byId("feed").replaceChildren();
  byId("feed-empty").hidden = false;
}
