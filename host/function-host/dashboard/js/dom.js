// Small helpers for building the page without HTML strings (text is always text).

/** An element: `h('a', {href: '#/'}, 'text', child)`; `on*` attributes become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A time as local date and time with milliseconds, or '' for none. */
export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A duration in milliseconds, readable: 850 ms, 12.3 s, 4 min 10 s, 2 h 5 min. */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  return `${Math.floor(ms / 3600000)} h ${Math.round((ms % 3600000) / 60000)} min`;
}

/** JSON, indented, for a <pre>. */
export function pretty(value) {
  if (value === undefined || value === null) return 'null';
  return JSON.stringify(value, null, 2);
}

/** A status badge. */
export function badge(status) {
  return h('span', { className: `badge s-${String(status).toLowerCase()}` }, status);
}

/** A link to an instance's page. */
export function instanceLink(id, text = id) {
  return h('a', { href: `#/instance/${encodeURIComponent(id)}` }, text);
}

/** A line that says how an action went, for `aria-live` regions. */
export function outcome(el, ok, message) {
  fill(el, h('span', { className: ok ? 'ok' : 'error' }, message));
}
