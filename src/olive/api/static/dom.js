// Building the page from data without ever parsing data as HTML: every value
// becomes a text node or an attribute value set through the DOM.

// h("td", { class: "num" }, "42") -> <td class="num">42</td>. Children may be
// nodes, strings, numbers, null (skipped) or arrays of those.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = String(value);
    else if (name === "width") el.style.width = String(value); // CSSOM, allowed by the page's CSP
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function byId(id) {
  return document.getElementById(id);
}

const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

export function num(value) {
  return value === null || value === undefined ? "—" : NUMBER.format(value);
}

export function pct(value, digits = 1) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`;
}

export function seconds(value) {
  return value === null || value === undefined ? "—" : `${NUMBER.format(value)} s`;
}

export function words(name) {
  return String(name).replace(/_/g, " ");
}

export function clock(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? String(iso) : at.toLocaleTimeString([], { hour12: false });
}

// A definition list of [label, value, extra attrs] figures.
export function figures(items) {
  return h("dl", { class: "figures" }, items.map(([label, value, attrs]) => h("div", {}, h("dt", {}, label), h("dd", attrs || {}, value))));
}
