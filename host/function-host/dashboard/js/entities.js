// Entities: listed by name with their state, the orchestration holding the lock and the
// requests waiting; refreshed, and signalled.

import * as api from './api.js';
import { fill, h, instanceLink, outcome, pretty, time } from './dom.js';

const REFRESH_MS = 5000;

/** Shows the entities in `main`; answers `{stop}`. */
export function showEntities(main, failed) {
  const nameFilter = h('input', { name: 'entity-name', placeholder: 'Counter' });
  const body = h('tbody');
  const result = h('p', { 'aria-live': 'polite', id: 'signal-result' });
  const pages = [null];
  let page = 0;
  const first = h('button', { type: 'button', onclick: () => { page = 0; load(); } }, 'First page');
  const more = h('button', { type: 'button', onclick: () => { page += 1; load(); } }, 'Next page');
  fill(main, h('h1', {}, 'Entities'),
    h('form', { className: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); pages.length = 1; page = 0; load(); } },
      h('label', {}, 'Entity name', nameFilter), h('button', { type: 'submit' }, 'Apply')),
    result,
    h('div', { className: 'table-wrap' }, h('table', { id: 'entities' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Key'), h('th', { className: 'hide-narrow' }, 'Last operation'),
        h('th', {}, 'State'), h('th', {}, 'Locked by'), h('th', { className: 'hide-narrow' }, 'Waiting'), h('th', {}, 'Signal'))),
      body)),
    h('div', { className: 'pager' }, first, more));

  let timer = null;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const answer = await api.entities(nameFilter.value.trim(), pages[page]);
      if (stopped) return;
      pages.length = page + 1;
      if (answer.continuation) pages.push(answer.continuation);
      more.hidden = !answer.continuation;
      first.hidden = page === 0;
      render(answer.entities);
    } catch (e) {
      failed(e);
    }
    if (!stopped) timer = setTimeout(load, REFRESH_MS);
  }

  function render(list) {
    // Keep a signal form that is being filled in: refresh the other rows only.
    const editing = body.querySelector('input:focus');
    if (editing) return;
    if (list.length === 0) {
      fill(body, h('tr', {}, h('td', { colspan: 7, className: 'muted' }, 'No entities.')));
      return;
    }
    fill(body, list.map((e) => {
      const { name, key } = e;
      return h('tr', { 'data-entity': `${name}@${key}` },
        h('td', {}, name), h('td', {}, h('a', { href: `#/entity/${encodeURIComponent(name)}/${encodeURIComponent(key)}` }, key)),
        h('td', { className: 'hide-narrow' }, time(e.lastOperationTime)),
        h('td', {}, e.exists ? h('pre', {}, pretty(e.state)) : h('span', { className: 'muted' }, 'no state')),
        h('td', {}, e.lockedBy ? instanceLink(e.lockedBy) : ''),
        h('td', { className: 'hide-narrow' }, e.queueSize || ''),
        h('td', {}, signalForm(name, key, result, load)));
    }));
  }

  load();
  return { stop() { stopped = true; clearTimeout(timer); } };
}

/** Shows one entity's state, read when opened and on request, with a signal form. */
export function showEntity(main, name, key, failed) {
  const state = h('pre', { id: 'entity-state' }, '…');
  const read = h('p', { className: 'muted', id: 'entity-read' });
  const result = h('p', { 'aria-live': 'polite', id: 'signal-result' });
  let stopped = false;
  async function load() {
    try {
      const e = await api.entity(name, key);
      if (stopped) return;
      fill(state, e.exists ? pretty(e.state) : 'no state');
      fill(read, `Read at ${time(new Date().toISOString())}`,
        e.lockedBy ? [' · locked by ', instanceLink(e.lockedBy)] : '',
        e.queueSize ? ` · ${e.queueSize} waiting` : '');
    } catch (e) {
      failed(e);
    }
  }
  fill(main, h('p', {}, h('a', { href: '#/entities' }, '← Entities')),
    h('h1', {}, `${name}@${key}`), state, read,
    h('div', { className: 'buttons' }, h('button', { type: 'button', onclick: load }, 'Read again')),
    h('h2', {}, 'Signal'), signalForm(name, key, result, load), result);
  load();
  return { stop() { stopped = true; } };
}

/** A form that signals an operation (with optional JSON input) to `name`@`key`, says how it
 *  went in `result`, and then calls `after`. */
function signalForm(name, key, result, after) {
  const op = h('input', { name: 'operation', required: true, placeholder: 'add', 'aria-label': `Operation for ${name}@${key}` });
  const input = h('input', { name: 'input', placeholder: '1 (JSON, optional)', 'aria-label': `Input for ${name}@${key}` });
  return h('form', { className: 'buttons', onsubmit: async (ev) => {
    ev.preventDefault();
    let value;
    try {
      value = input.value.trim() === '' ? undefined : JSON.parse(input.value);
    } catch (err) {
      outcome(result, false, `The input is not JSON: ${err.message}`);
      return;
    }
    try {
      await api.signal(name, key, op.value.trim(), value);
      outcome(result, true, `Signalled ${op.value.trim()} to ${name}@${key}.`);
      op.value = input.value = '';
    } catch (err) {
      outcome(result, false, `Signal to ${name}@${key}: ${err.message}`);
    }
    after();
  } }, op, input, h('button', { type: 'submit' }, 'Signal'));
}
