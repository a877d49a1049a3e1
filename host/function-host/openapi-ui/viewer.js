// The page at /api/swagger/ui: reads the host's OpenAPI document and shows each operation
// with its parameters, body and answers, and a form that sends a request to it. Built with
// DOM calls only (text is always text); nothing is loaded from elsewhere.

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** An element: `h('a', {href: '#'}, 'text', child)`; `on*` attributes become listeners. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The schema a `$ref` into the document points at. */
function resolve(doc, schema) {
  let s = schema;
  for (let hops = 0; s && typeof s === 'object' && typeof s.$ref === 'string' && hops < 20; hops++) {
    const parts = s.$ref.replace(/^#\//, '').split('/').map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    s = parts.reduce((node, p) => (node ? node[p] : undefined), doc);
  }
  return s;
}

/** A value that fits `schema`, to start a request body from. */
function example(doc, schema, depth = 0) {
  const s = resolve(doc, schema);
  if (!s || typeof s !== 'object' || depth > 6) return null;
  if ('example' in s) return s.example;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if ('default' in s) return s.default;
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    if (Array.isArray(s[key]) && s[key].length) return example(doc, s[key][0], depth + 1);
  }
  const type = Array.isArray(s.type) ? s.type.find(t => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out = {};
      for (const [name, prop] of Object.entries(s.properties || {})) out[name] = example(doc, prop, depth + 1);
      return out;
    }
    case 'array': return s.items ? [example(doc, s.items, depth + 1)] : [];
    case 'string': return s.format === 'uuid' ? '00000000-0000-0000-0000-000000000000' : 'string';
    case 'integer': return s.minimum ?? 0;
    case 'number': return s.minimum ?? 0;
    case 'boolean': return true;
    default: return null;
  }
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** One operation: what it takes and answers, and a form that calls it. */
function operation(doc, path, method, op) {
  const params = op.parameters || [];
  const inputs = new Map();
  const paramRows = params.map(p => {
    const input = h('input', { 'aria-label': `${p.in} parameter ${p.name}`, placeholder: p.required ? 'required' : '' });
    inputs.set(p, input);
    const schema = resolve(doc, p.schema) || {};
    const type = [schema.type, schema.format].filter(Boolean).join(', ');
    return h('tr', {}, h('td', {}, h('code', {}, p.name)), h('td', {}, p.in), h('td', {}, type),
      h('td', {}, p.description || ''), h('td', {}, input));
  });
  const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  const bodyInput = body ? h('textarea', { 'aria-label': 'request body' }, pretty(example(doc, body.schema))) : null;
  const answer = h('div', { className: 'answer', 'aria-live': 'polite' });
  const send = async () => {
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [p, input] of inputs) {
      const value = input.value;
      if (value === '') continue;
      if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(value));
      else if (p.in === 'query') query.append(p.name, value);
      else if (p.in === 'header') headers[p.name] = value;
    }
    const key = document.getElementById('key').value;
    if (key) headers['x-functions-key'] = key;
    const init = { method: method.toUpperCase(), headers };
    if (bodyInput && bodyInput.value.trim() !== '') {
      init.body = bodyInput.value;
      headers['content-type'] = 'application/json';
    }
    const target = query.toString() ? `${url}?${query}` : url;
    answer.replaceChildren(h('p', { className: 'muted' }, `${init.method} ${target} …`));
    try {
      const r = await fetch(target, init);
      const text = await r.text();
      let shown = text;
      try { shown = pretty(JSON.parse(text)); } catch { /* not JSON: as is */ }
      const head = [...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
      answer.replaceChildren(
        h('p', {}, h('span', { className: r.ok ? 'status-ok' : 'status-bad' }, `${r.status} ${r.statusText}`),
          ` ${init.method} ${target}`),
        h('pre', {}, head), h('pre', {}, shown || '(no body)'));
    } catch (e) {
      answer.replaceChildren(h('p', { className: 'error' }, `The request failed: ${e.message}`));
    }
  };
  const responses = Object.entries(op.responses || {}).map(([status, r]) => {
    const json = r.content && r.content['application/json'];
    return h('tr', {}, h('td', {}, h('code', {}, status)), h('td', {}, r.description || ''),
      h('td', {}, json ? h('pre', {}, pretty(json.schema)) : h('span', { className: 'muted' }, 'no body')));
  });
  const secured = Array.isArray(op.security) && op.security.length > 0;
  return h('details', { className: 'op', id: `op-${op.operationId}` },
    h('summary', {},
      h('span', { className: `method m-${method}` }, method),
      h('span', { className: 'path' }, path),
      h('span', { className: 'muted' }, op.summary || ''),
      secured ? h('span', { className: 'lock', title: 'needs a key' }, 'key') : null),
    h('div', { className: 'op-body' },
      op.description ? h('p', {}, op.description) : null,
      h('p', { className: 'muted' }, 'Operation id ', h('code', {}, op.operationId),
        secured ? ` · needs ${Object.keys(op.security[0])[0].startsWith('master') ? 'the master key' : 'a function key'}` : ' · no key needed'),
      params.length ? [h('h3', {}, 'Parameters'), h('table', {},
        h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'Description', 'Value'].map(t => h('th', {}, t)))),
        h('tbody', {}, paramRows))] : null,
      body ? [h('h3', {}, op.requestBody.required ? 'Request body (JSON)' : 'Request body (JSON, optional)'),
        h('pre', {}, pretty(body.schema)), bodyInput] : null,
      h('h3', {}, 'Responses'),
      h('table', {}, h('thead', {}, h('tr', {}, ['Status', 'Description', 'Body'].map(t => h('th', {}, t)))),
        h('tbody', {}, responses)),
      h('div', { className: 'try' }, h('button', { type: 'button', onclick: send }, 'Send')),
      answer));
}

function render(doc) {
  document.title = `${doc.info.title}: API`;
  document.getElementById('title').textContent = doc.info.title;
  document.getElementById('version').textContent = `version ${doc.info.version} · OpenAPI ${doc.openapi}`;
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      for (const tag of (op.tags && op.tags.length ? op.tags : ['other'])) {
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operation(doc, path, method, op));
      }
    }
  }
  const main = document.getElementById('main');
  const sections = [...groups.keys()].sort().map(tag => h('section', {}, h('h2', {}, tag), groups.get(tag)));
  const schemas = Object.entries((doc.components && doc.components.schemas) || {}).map(([name, schema]) =>
    h('details', { className: 'op', id: `schema-${name}` }, h('summary', {}, h('code', {}, name)),
      h('div', { className: 'op-body' }, h('pre', {}, pretty(schema)))));
  const parts = [
    doc.info.description ? h('p', { className: 'muted' }, doc.info.description) : null,
    sections.length ? sections : h('p', { className: 'muted' }, 'This app has no HTTP functions.'),
    schemas.length ? [h('h2', {}, 'Schemas'), schemas] : null,
  ];
  // replaceChildren takes nodes, not arrays of them.
  main.replaceChildren(...parts.flat(2).filter(Boolean));
}

async function load() {
  const key = document.getElementById('key');
  key.value = sessionStorage.getItem('functions-key') || '';
  key.addEventListener('change', () => sessionStorage.setItem('functions-key', key.value));
  try {
    const r = await fetch(document.body.dataset.document);
    if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
    render(await r.json());
  } catch (e) {
    document.getElementById('main').replaceChildren(
      h('p', { className: 'error' }, `The OpenAPI document could not be read: ${e.message}`));
  }
}

load();
