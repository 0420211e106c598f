// /events as a stream, read with fetch + ReadableStream: EventSource cannot send
// the key header. When the stream ends or breaks it reconnects, sending
// Last-Event-ID so the server replays the recent events it missed.

import { authHeaders, explain } from "./api.js";

const QUIET_LIMIT_MS = 45000; // the server sends a comment every 15 s; silence this long means a dead link
const MAX_DELAY_MS = 15000;

// Split a buffer of server-sent-event text into complete messages; returns [messages, rest].
export function parseEvents(buffer) {
  const text = buffer.replace(/\r\n?/g, "\n");
  const blocks = text.split("\n\n");
  const rest = blocks.pop();
  const messages = [];
  for (const block of blocks) {
    const message = { id: null, event: "message", data: [] };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "id") message.id = value;
      else if (field === "event") message.event = value;
      else if (field === "data") message.data.push(value);
    }
    if (message.data.length) messages.push({ ...message, data: message.data.join("\n") });
  }
  return [messages, rest];
}

export class EventStream {
  // onEvent(kind, payload); onState("connecting" | "live" | "retrying" | "off", detail); onFatal(status, message)
  constructor(campaignId, { onEvent, onState, onFatal }) {
    this.campaignId = campaignId;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onFatal = onFatal;
    this.lastId = "0"; // from the start: the server replays this campaign's recent events
    this.controller = null;
    this.stopped = false;
  }

  start() {
    this.run();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
    this.onState("off", "");
  }

  async run() {
    let delay = 1000;
    while (!this.stopped) {
      this.onState("connecting", "connecting…");
      this.controller = new AbortController();
      try {
        const status = await this.once(this.controller);
        if (status !== 200) {
          if ([401, 403, 404].includes(status)) {
            this.stopped = true;
            this.onState("off", "not connected");
            this.onFatal(status, explain(status, null));
            return;
          }
        } else {
          delay = 1000; // it was up: the next try comes soon
        }
      } catch (err) {
        if (this.stopped) return;
      }
      if (this.stopped) return;
      this.onState("retrying", `reconnecting in ${Math.round(delay / 1000)} s…`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }

  // One connection, until it ends. Returns the HTTP status.
  async once(controller) {
    const headers = authHeaders({ Accept: "text/event-stream", "Last-Event-ID": this.lastId });
    const url = `/events?campaign_id=${encodeURIComponent(this.campaignId)}`;
    const response = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
    if (!response.ok || !response.body) return response.status;
    this.onState("live", "live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let watchdog = setTimeout(() => controller.abort(), QUIET_LIMIT_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), QUIET_LIMIT_MS);
        let messages;
        [messages, buffer] = parseEvents(buffer + value);
        for (const message of messages) this.deliver(message);
      }
    } finally {
      clearTimeout(watchdog);
    }
    return 200;
  }

  deliver(message) {
    if (message.id !== null) this.lastId = message.id;
    let payload;
    try {
      payload = JSON.parse(message.data);
    } catch (err) {
      return; // not ours: skip it
    }
    if (!this.stopped) this.onEvent(message.event, payload);
  }
}
