// Entities: listed by name with their state; one entity's state read again, and signalled.

import * as api from './api.js';
import { fill, h, outcome, pretty, time } from './dom.js';

const REFRESH_MS = 5000;

/** Shows the entities in `main`; answers `{stop}`. */
export function showEntities(main, failed) {
  const nameFilter = h('input', { name: 'entity-name', placeholder: 'Counter' });
  const body = h('tbody');
  const result = h('p', { 'aria-live': 'polite', id: 'signal-result' });
  fill(main, h('h1', {}, 'Entities'),
    h('form', { className: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', {}, 'Entity name', nameFilter), h('button', { type: 'submit' }, 'Apply')),
    result,
    h('div', { className: 'table-wrap' }, h('table', { id: 'entities' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Key'), h('th', {}, 'Last operation'), h('th', {}, 'State'), h('th', {}, 'Signal'))),
      body)));

  let timer = null;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const list = await api.entities(nameFilter.value.trim());
      if (stopped) return;
      render(list || []);
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
      fill(body, h('tr', {}, h('td', { colspan: 5, className: 'muted' }, 'No entities.')));
      return;
    }
    fill(body, list.map((e) => {
      const { name, key } = e.entityId;
      return h('tr', { 'data-entity': `${name}@${key}` },
        h('td', {}, name), h('td', {}, key), h('td', {}, time(e.lastOperationTime)),
        h('td', {}, h('pre', {}, pretty(e.state))),
        h('td', {}, signalForm(name, key)));
    }));
  }

  function signalForm(name, key) {
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
      load();
    } }, op, input, h('button', { type: 'submit' }, 'Signal'));
  }

  load();
  return { stop() { stopped = true; clearTimeout(timer); } };
}
