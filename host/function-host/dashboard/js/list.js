// The instance list: counts by status (which filter too), filters, a page of rows, paging,
// refreshed every few seconds, and actions on the selected rows.

import * as api from './api.js';
import { badge, fill, h, instanceLink, outcome, time } from './dom.js';

const STATUSES = ['Running', 'Pending', 'Suspended', 'Completed', 'Failed', 'Terminated', 'ContinuedAsNew', 'Canceled'];
const REFRESH_MS = 5000;

// Kept while the page is left and come back to.
const state = { filter: { statuses: [], name: '', prefix: '', tags: '', from: '', to: '', order: '' }, pages: [null], page: 0, auto: true, newestFirst: false };

/** Whether the host's store can list the newest first; if so, the list starts that way. */
export function offerNewestFirst(can) {
  if (can && !state.newestFirst) state.filter.order = 'newest';
  state.newestFirst = can;
}

/** Shows the list in `main`; answers `{stop}`. */
export function showList(main, failed) {
  const selected = new Set();
  const countsEl = h('div', { className: 'counts', role: 'group', 'aria-label': 'Instances by status' });
  const body = h('tbody');
  const result = h('p', { 'aria-live': 'polite' });
  const pageInfo = h('span', { className: 'muted' });
  const prev = h('button', { type: 'button', onclick: () => go(state.page - 1) }, 'Previous');
  const next = h('button', { type: 'button', onclick: () => go(state.page + 1) }, 'Next');
  const terminate = h('button', { type: 'button', className: 'danger', onclick: () => act('terminate') }, 'Terminate selected');
  const purge = h('button', { type: 'button', className: 'danger', onclick: () => act('purge') }, 'Purge selected');
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all on this page', onchange: () => {
    for (const box of body.querySelectorAll('input[type=checkbox]')) {
      box.checked = all.checked;
      if (all.checked) selected.add(box.value); else selected.delete(box.value);
    }
    enable();
  } });
  const input = (label, key, type = 'text') => h('label', {}, label, h('input', {
    type, value: state.filter[key], name: key,
    onchange: (e) => { state.filter[key] = e.target.value.trim(); restart(); },
  }));
  const auto = h('input', { type: 'checkbox', checked: state.auto, onchange: (e) => { state.auto = e.target.checked; schedule(); } });

  fill(main,
    h('h1', {}, 'Instances'),
    countsEl,
    h('form', { className: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); restart(); } },
      input('Orchestrator name', 'name'),
      input('Instance id starts with', 'prefix'),
      input('Tags (key=value, ...)', 'tags'),
      input('Created from', 'from', 'datetime-local'),
      input('Created to', 'to', 'datetime-local'),
      state.newestFirst && h('label', {}, 'Order', h('select', { name: 'order', onchange: (e) => { state.filter.order = e.target.value; restart(); } },
        h('option', { value: 'newest', selected: state.filter.order === 'newest' }, 'Newest first'),
        h('option', { value: '', selected: state.filter.order !== 'newest' }, 'Instance id'))),
      h('button', { type: 'submit' }, 'Apply'),
      h('label', { className: 'inline' }, h('span', {}, 'Refresh every 5 s'), auto)),
    h('div', { className: 'actions' }, terminate, purge, result),
    h('div', { className: 'table-wrap' }, h('table', { id: 'instances' },
      h('thead', {}, h('tr', {}, h('th', {}, all), h('th', {}, 'Instance'), h('th', {}, 'Orchestrator'),
        h('th', {}, 'Status'), h('th', { className: 'hide-narrow' }, 'Created'), h('th', { className: 'hide-narrow' }, 'Last updated'))),
      body)),
    h('div', { className: 'pager' }, prev, next, pageInfo));

  let timer = null;
  let stopped = false;

  function enable() {
    terminate.disabled = purge.disabled = selected.size === 0;
  }

  function restart() {
    state.pages = [null];
    state.page = 0;
    load();
  }

  function go(page) {
    if (page < 0 || page >= state.pages.length) return;
    state.page = page;
    load();
  }

  function schedule() {
    clearTimeout(timer);
    if (state.auto && !stopped) timer = setTimeout(load, REFRESH_MS);
  }

  async function load() {
    clearTimeout(timer);
    try {
      const [page, counts] = await Promise.all([
        api.instances(state.filter, state.pages[state.page]),
        api.counts(state.filter),
      ]);
      if (stopped) return;
      renderCounts(counts);
      renderRows(page.instances);
      state.pages.length = state.page + 1;
      if (page.continuation) state.pages.push(page.continuation);
      prev.disabled = state.page === 0;
      next.disabled = !page.continuation;
      fill(pageInfo, `Page ${state.page + 1}`);
    } catch (e) {
      failed(e);
    }
    schedule();
  }

  function renderCounts(counts) {
    const chip = (status, n) => {
      const on = status === null ? state.filter.statuses.length === 0 : state.filter.statuses.includes(status);
      return h('button', { type: 'button', 'aria-pressed': on ? 'true' : 'false', 'data-status': status || 'All',
        onclick: () => {
          if (status === null) state.filter.statuses = [];
          else if (on) state.filter.statuses = state.filter.statuses.filter((s) => s !== status);
          else state.filter.statuses = [...state.filter.statuses, status];
          restart();
        } }, `${status || 'All'} ${n}${counts.complete === false ? '+' : ''}`);
    };
    fill(countsEl, chip(null, counts.total),
      STATUSES.filter((s) => counts.counts[s] || state.filter.statuses.includes(s)).map((s) => chip(s, counts.counts[s] || 0)));
  }

  function renderRows(rows) {
    for (const id of [...selected]) if (!rows.some((r) => r.instanceId === id)) selected.delete(id);
    all.checked = false;
    if (rows.length === 0) {
      fill(body, h('tr', {}, h('td', { colspan: 6, className: 'muted' }, 'No instances match.')));
    } else {
      fill(body, rows.map((r) => h('tr', { 'data-instance': r.instanceId },
        h('td', {}, h('input', { type: 'checkbox', value: r.instanceId, checked: selected.has(r.instanceId), 'aria-label': `Select ${r.instanceId}`,
          onchange: (e) => { if (e.target.checked) selected.add(r.instanceId); else selected.delete(r.instanceId); enable(); } })),
        h('td', { className: 'id' }, instanceLink(r.instanceId)),
        h('td', {}, r.name),
        h('td', {}, badge(r.status)),
        h('td', { className: 'hide-narrow' }, time(r.createdAt)),
        h('td', { className: 'hide-narrow' }, time(r.lastUpdatedAt)))));
    }
    enable();
  }

  async function act(what) {
    const ids = [...selected];
    if (ids.length === 0) return;
    const verb = what === 'purge' ? 'Purge (delete with their history)' : 'Terminate';
    if (!confirm(`${verb} ${ids.length} instance(s)?\n${ids.slice(0, 10).join('\n')}`)) return;
    let done = 0;
    const errors = [];
    for (const id of ids) {
      try {
        if (what === 'purge') await api.purge(id); else await api.operate(id, 'terminate', 'terminated from the dashboard');
        done += 1;
      } catch (e) {
        errors.push(`${id}: ${e.message}`);
      }
    }
    selected.clear();
    outcome(result, errors.length === 0, `${what === 'purge' ? 'Purged' : 'Terminated'} ${done} of ${ids.length}.${errors.length ? ' ' + errors.join('; ') : ''}`);
    load();
  }

  load();
  return { stop() { stopped = true; clearTimeout(timer); } };
}
