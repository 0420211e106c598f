// Rendering the agent's page from the API's answers: text nodes only, never HTML.

import { byId, clock, fill, h, words } from "/dashboard/static/dom.js";

export function renderSelf(me) {
  const a = me.agent;
  const badge = byId("state");
  badge.textContent = words(a.state);
  badge.className = `badge ${a.state}`;
  badge.dataset.state = a.state;
  byId("reason").textContent = a.pause_reason ? `reason: ${words(a.pause_reason)}`
    : a.state === "wrap_up" ? "after-call work: press Ready once you are done (it ends by itself after the campaign's wrap-up time)" : "";
  byId("who-text").textContent = a.name;
  byId("campaigns").textContent = me.campaigns.length
    ? `Campaigns: ${me.campaigns.map((c) => `${c.name} (${c.status})`).join(", ")}`
    : "You are in no campaign yet: ask your supervisor to add you to one.";
  const reason = byId("pause-reason");
  const chosen = reason.value;
  fill(reason, me.pause_reasons.map((r) => h("option", { value: r.code }, r.label)));
  if (me.pause_reasons.some((r) => r.code === chosen)) reason.value = chosen;
  const code = byId("code");
  if (code.options.length !== me.disposition_codes.length + 1) {
    fill(code, h("option", { value: "" }, "Choose…"), me.disposition_codes.map((c) => h("option", { value: c.code, "data-callback": c.callback ? "1" : null }, c.label)));
  }
  // In wrap-up, Ready ends it early (once the call is disposed).
  byId("ready").disabled = !(a.state === "logged_out" || a.state === "paused" || a.state === "wrap_up");
  byId("pause").disabled = a.state === "logged_out" || (a.state === "paused" && a.pause_reason === reason.value);
  byId("logout").disabled = a.state === "logged_out" || a.state === "on_call" || a.state === "ringing";
}

function table(head, rows) {
  return h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, head.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, rows)));
}

export function renderCall(pop) {
  byId("c-name").textContent = pop.name || "(no name)";
  byId("c-number").textContent = pop.number;
  const st = byId("c-state");
  st.textContent = pop.ended_at ? "call ended" : words(pop.state);
  st.className = `badge ${pop.ended_at ? "wrap_up" : "on_call"}`;
  byId("c-campaign").textContent = [pop.campaign.name, pop.external_ref ? `ref ${pop.external_ref}` : null,
    pop.timezone].filter(Boolean).join(" · ");
  fill(byId("c-numbers"), pop.numbers.map((n) => h("li", { "data-dialed": n.dialed ? "1" : null },
    n.number, n.dialed ? " (this call)" : "", ` · ${n.attempts} attempt(s)`, n.last_outcome ? ` · last ${words(n.last_outcome)}` : "")));
  const fields = Object.entries(pop.fields);
  fill(byId("c-fields"), fields.length
    ? h("table", { class: "kv" }, h("tbody", {}, fields.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v))))))
    : h("p", { class: "hint" }, "No fields."));
  fill(byId("c-history"), pop.history.length
    ? table(["When", "Number", "Outcome", "Agent", "Disposition", "Notes"], pop.history.map((c) => h("tr", { "data-call": c.call_id },
        h("td", {}, clock(c.originated_at)), h("td", {}, c.number), h("td", {}, c.outcome ? words(c.outcome) : "in progress"),
        h("td", {}, c.agent || ""), h("td", {}, c.disposition ? words(c.disposition) : ""), h("td", {}, c.disposition_note || ""))))
    : h("p", { class: "hint" }, "No earlier attempts."));
  fill(byId("c-callbacks"), pop.callbacks.length
    ? [h("h3", {}, "Callbacks"), h("ul", { class: "plain" }, pop.callbacks.map((b) => h("li", {},
        `${new Date(b.due_at).toLocaleString()} · ${b.status} · ${b.mine ? "for you" : b.owner ? `for ${b.owner}` : "for anyone"}`,
        b.note ? ` · ${b.note}` : "")))]
    : null);
  byId("disposed").textContent = pop.disposition ? `Saved: ${words(pop.disposition)}.` : "";
}

export function renderMyCallbacks(callbacks) {
  fill(byId("my-callbacks"), callbacks.length
    ? table(["Due", "Customer", "Number", "Campaign", "Notes"], callbacks.map((b) => h("tr", { "data-callback": b.id },
        h("td", {}, new Date(b.due_at).toLocaleString()), h("td", {}, b.contact_name || b.external_ref || "(no name)"),
        h("td", {}, b.number || ""), h("td", {}, b.campaign.name), h("td", {}, b.note || ""))))
    : h("p", { class: "hint" }, "No callbacks booked for you."));
}

// Preview mode: the contact olive put on this agent's screen, to dial or skip.
export function renderPreview(preview) {
  byId("p-name").textContent = preview.name || "(no name)";
  byId("p-number").textContent = preview.number;
  byId("p-expires").textContent = preview.expires_at
    ? `(${preview.timeout_action === "dial" ? "dialed" : "skipped"} by itself at ${clock(preview.expires_at)})` : "";
  byId("p-campaign").textContent = [preview.campaign.name, preview.external_ref ? `ref ${preview.external_ref}` : null,
    preview.timezone].filter(Boolean).join(" · ");
  fill(byId("p-numbers"), preview.numbers.map((n) => h("li", { "data-dialed": n.dialed ? "1" : null },
    n.number, n.dialed ? " (to dial)" : "", ` · ${n.attempts} attempt(s)`, n.last_outcome ? ` · last ${words(n.last_outcome)}` : "")));
  const fields = Object.entries(preview.fields);
  fill(byId("p-fields"), fields.length
    ? h("table", { class: "kv" }, h("tbody", {}, fields.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v))))))
    : h("p", { class: "hint" }, "No fields."));
  fill(byId("p-history"), preview.history.length
    ? table(["When", "Number", "Outcome", "Agent", "Disposition", "Notes"], preview.history.map((c) => h("tr", { "data-call": c.call_id },
        h("td", {}, clock(c.originated_at)), h("td", {}, c.number), h("td", {}, c.outcome ? words(c.outcome) : "in progress"),
        h("td", {}, c.agent || ""), h("td", {}, c.disposition ? words(c.disposition) : ""), h("td", {}, c.disposition_note || ""))))
    : h("p", { class: "hint" }, "No earlier attempts."));
}
