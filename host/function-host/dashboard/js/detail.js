// One instance: its status and data, parent and sub-orchestrations, failure with its causes,
// the history as a timeline and as a table, and the actions. Polled once a second while it
// runs; the action forms are left alone by the updates.

import * as api from './api.js';
import { badge, duration, fill, h, instanceLink, outcome, pretty, time } from './dom.js';
import { render } from './timeline.js';

const LIVE_MS = 1000;
const ACTIVE = new Set(['Running', 'Pending', 'Suspended']);

/** Shows instance `id` in `main`; answers `{stop}`. */
export function showInstance(main, id, failed) {
  const title = h('h1', {}, id, ' ');
  const summary = h('div', { className: 'grid2' });
  const failure = h('div');
  const chart = h('div', { className: 'timeline', id: 'timeline' });
  const legend = h('div', { className: 'legend' },
    [['activity', 'activity'], ['failed', 'failed'], ['timer', 'timer'], ['suborchestration', 'sub-orchestration'],
      ['pending', 'running'], ['abandoned', 'left open'], ['wait', 'waiting for an event'], ['event', 'event raised']].map(([k, text]) => h('span', {}, h('i', { className: `l-${k}` }), text)));
  const events = h('tbody');
  const table = h('details', { ontoggle: () => { if (table.open) renderEvents(); } },
    h('summary', {}, 'History events'),
    h('div', { className: 'table-wrap' }, h('table', { id: 'events' },
      h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Type'), h('th', {}, 'Event id'), h('th', {}, 'Time'), h('th', {}, 'Details'))),
      events)));
  const result = h('p', { 'aria-live': 'polite', id: 'action-result' });

  fill(main, h('p', {}, h('a', { href: '#/' }, '← Instances')), title, summary, failure,
    h('h2', {}, 'Timeline'), legend, chart, table,
    h('h2', {}, 'Actions'), actions(id, result, () => load()), result);

  let history = [];
  let timer = null;
  let stopped = false;

  async function load() {
    clearTimeout(timer);
    try {
      const data = await api.instance(id);
      if (stopped) return;
      history = data.history;
      show(data.instance);
      if (ACTIVE.has(data.instance.status)) timer = setTimeout(load, LIVE_MS);
    } catch (e) {
      failed(e);
      if (!stopped) timer = setTimeout(load, LIVE_MS * 5);
    }
  }

  function show(s) {
    fill(title, s.instanceId, ' ', badge(s.status));
    title.dataset.status = s.status;
    const subs = history.filter((e) => e.EventTypeName === 'SubOrchestrationInstanceCreated');
    const took = s.completedAt ? new Date(s.completedAt) - new Date(s.createdAt) : null;
    fill(summary,
      h('div', { className: 'panel' }, h('dl', { className: 'fields' },
        field('Orchestrator', s.name + (s.version ? ` (version ${s.version})` : '')),
        field('Status', s.status),
        field('Execution', s.executionId),
        field('Created', time(s.createdAt)),
        field('Last updated', time(s.lastUpdatedAt)),
        s.completedAt && field('Completed', `${time(s.completedAt)} (${duration(took)})`),
        field('History events', s.historyLength),
        Object.keys(s.tags || {}).length > 0 && field('Tags', Object.entries(s.tags).map(([k, v]) => h('div', { className: 'tag' }, `${k}=${v}`))),
        s.parentInstanceId && field('Parent', instanceLink(s.parentInstanceId)),
        subs.length > 0 && field('Sub-orchestrations', subs.map((e) => h('div', {}, instanceLink(e.InstanceId), ` ${e.Name}`))))),
      data('Input', s.input), data('Output', s.output), data('Custom status', s.customStatus));
    fill(failure, s.failureDetails ? causes(s.failureDetails) : null);
    const { markup, rows } = render(history);
    chart.innerHTML = markup; // built from escaped text only (timeline.js)
    chart.dataset.steps = String(rows.length);
    if (table.open) renderEvents();
  }

  function renderEvents() {
    fill(events, history.map((e, i) => h('tr', {},
      h('td', {}, i), h('td', {}, e.EventTypeName), h('td', {}, e.EventId), h('td', {}, time(e.Timestamp)),
      h('td', {}, h('code', {}, details(e))))));
  }

  load();
  return { stop() { stopped = true; clearTimeout(timer); } };
}

function field(name, value) {
  const key = name.toLowerCase().replace(/[^a-z]+/g, '-');
  return [h('dt', {}, name), h('dd', { 'data-field': key }, value)];
}

function data(name, value) {
  return h('div', { className: 'panel' }, h('h2', {}, name), h('pre', {}, pretty(value)));
}

/** A failure and the failures that caused it, outermost first. */
function causes(f) {
  const chain = [];
  for (let c = f; c; c = c.InnerFailure) chain.push(c);
  return h('div', { className: 'panel', id: 'failure' }, h('h2', { className: 'error' }, 'Failure'),
    chain.map((c, i) => h('div', {}, h('p', {}, i > 0 ? 'Caused by ' : '', h('strong', {}, c.ErrorType), `: ${c.ErrorMessage}`),
      c.StackTrace ? h('pre', {}, c.StackTrace) : null)));
}

/** The event's fields other than the common ones, compactly. */
function details(e) {
  const skip = new Set(['EventType', 'EventTypeName', 'EventId', 'IsPlayed', 'Timestamp']);
  const rest = Object.fromEntries(Object.entries(e).filter(([k]) => !skip.has(k)));
  const text = JSON.stringify(rest);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** The action forms: raise an event, and the operations. */
function actions(id, result, reload) {
  const name = h('input', { id: 'event-name', required: true, placeholder: 'ApprovalEvent' });
  const body = h('textarea', { id: 'event-body', placeholder: 'true', 'aria-label': 'Event data (JSON)' });
  const run = async (label, work, after = reload) => {
    try {
      const answer = await work();
      outcome(result, true, `${label}: done.`);
      after(answer);
    } catch (e) {
      outcome(result, false, `${label}: ${e.message}`);
      reload();
    }
  };
  const raise = h('form', { className: 'panel', id: 'raise-event', onsubmit: (e) => {
    e.preventDefault();
    let value;
    const text = body.value.trim();
    try {
      value = text === '' ? null : JSON.parse(text);
    } catch (err) {
      outcome(result, false, `The event data is not JSON: ${err.message}`);
      body.focus();
      return;
    }
    if (!confirm(`Raise event ${name.value} on ${id}?`)) return;
    run(`Raise ${name.value}`, () => api.raiseEvent(id, name.value.trim(), value));
  } }, h('label', {}, 'Event name ', name), h('label', {}, 'Data (JSON) ', body),
  h('div', { className: 'buttons' }, h('button', { type: 'submit', className: 'primary' }, 'Raise event')));
  const op = (operation, label, danger = false) => h('button', {
    type: 'button', className: danger ? 'danger' : '', 'data-action': operation,
    onclick: () => {
      if (!confirm(`${label} ${id}?`)) return;
      if (operation === 'purge') {
        run(label, () => api.purge(id), () => { location.hash = '#/'; });
      } else if (operation === 'restart') {
        // The restarted instance may have a new id: go to it.
        run(label, () => api.operate(id, 'restart'), (answer) => {
          if (answer && answer.id && answer.id !== id) location.hash = `#/instance/${encodeURIComponent(answer.id)}`;
          else reload();
        });
      } else {
        run(label, () => api.operate(id, operation, `${operation} from the dashboard`));
      }
    },
  }, label);
  return h('div', {}, raise, h('div', { className: 'actions' },
    op('terminate', 'Terminate', true), op('suspend', 'Suspend'), op('resume', 'Resume'),
    op('rewind', 'Rewind'), op('restart', 'Restart'), op('purge', 'Purge', true)));
}
