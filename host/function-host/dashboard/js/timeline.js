// An instance's history as a Gantt chart: one row per activity call, timer, sub-orchestration
// and raised event, placed on a shared time axis. Drawn as one SVG string (thousands of rows
// render at once, well under a second), with text escaped.

const ROW = 18;
const LABEL = 260;
const WIDTH = 900;

/** The spans of a raw history (DTFx events): [{kind, label, start, end, failed, pending,
 *  abandoned, outcome}]. A call still open is pending while the execution runs, abandoned
 *  (ending with it) once it has ended. */
export function spans(history, now = Date.now()) {
  const open = new Map(); // task id -> span
  const rows = [];
  let ended = null;
  let waitingSince = null; // end of an episode that left only timers (or nothing) open
  let first = Infinity;
  let last = -Infinity;
  const t = (iso) => new Date(iso).getTime();
  for (const e of history) {
    const at = t(e.Timestamp);
    if (Number.isFinite(at)) { first = Math.min(first, at); last = Math.max(last, at); }
    switch (e.EventTypeName) {
      case 'TaskScheduled':
        add(e.EventId, { kind: 'activity', label: e.Input === undefined ? e.Name : `${e.Name} ${e.Input}`, start: at });
        break;
      case 'SubOrchestrationInstanceCreated':
        add(e.EventId, { kind: 'suborchestration', label: `${e.Name} (${e.InstanceId})`, start: at, instanceId: e.InstanceId });
        break;
      case 'TimerCreated':
        add(e.EventId, { kind: 'timer', label: `timer until ${e.FireAt}`, start: at, due: t(e.FireAt) });
        break;
      case 'TaskCompleted': case 'SubOrchestrationInstanceCompleted':
        close(e.TaskScheduledId, at, false, e.Result);
        break;
      case 'TaskFailed': case 'SubOrchestrationInstanceFailed':
        close(e.TaskScheduledId, at, true, e.Reason || (e.FailureDetails && e.FailureDetails.ErrorMessage));
        break;
      case 'OrchestratorCompleted':
        // An episode ended with nothing but timers to wait for: what wakes it is a raised
        // event (or a timer); the wait shows if an event comes.
        if (![...open.values()].some((o) => o.kind !== 'timer')) waitingSince = at;
        break;
      case 'EventRaised':
        if (waitingSince !== null && at >= waitingSince) {
          rows.push({ kind: 'wait', label: `waiting for ${e.Name}`, start: waitingSince, end: at });
        }
        waitingSince = null;
        rows.push({ kind: 'event', label: `event ${e.Name}`, start: at, end: at });
        break;
      case 'TimerFired':
        close(e.TimerId, at, false);
        waitingSince = null;
        break;
      case 'ExecutionCompleted': case 'ExecutionTerminated': case 'ExecutionFailed': case 'ContinueAsNew':
        ended = at;
        break;
      default:
    }
  }
  if (waitingSince !== null && ended === null) {
    rows.push({ kind: 'wait', label: 'waiting for an event', start: waitingSince, end: Math.max(waitingSince, now), pending: true });
  }
  for (const s of open.values()) {
    if (ended === null) {
      s.pending = true; // still waited for
      s.end = Math.max(s.start, now);
    } else {
      s.abandoned = true; // the execution ended without it (a timeout's timer, say)
      s.end = Math.max(s.start, ended);
    }
  }
  if (rows.length) last = Math.max(last, ...rows.map((r) => r.end));
  return { rows, first: Number.isFinite(first) ? first : now, last: Number.isFinite(last) ? last : now };

  function add(id, span) {
    open.set(id, span);
    rows.push(span);
  }

  function close(id, at, failed, outcome) {
    const s = open.get(id);
    if (!s) return;
    open.delete(id);
    s.end = at;
    s.failed = failed;
    if (outcome !== undefined && outcome !== null) s.outcome = String(outcome);
  }
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The chart of `history` as SVG markup. */
export function render(history, now = Date.now()) {
  const { rows, first, last } = spans(history, now);
  const end = Math.max(last, ...rows.map((r) => r.end), first + 1);
  const scale = WIDTH / (end - first);
  const x = (ms) => LABEL + (ms - first) * scale;
  const height = (rows.length + 2) * ROW;
  const parts = [`<svg width="${LABEL + WIDTH + 20}" height="${height}" role="img" aria-label="Timeline of ${rows.length} steps">`];
  for (let i = 0; i <= 4; i += 1) {
    const ms = (end - first) * i / 4;
    const gx = LABEL + ms * scale;
    parts.push(`<line class="grid" x1="${gx}" y1="${ROW}" x2="${gx}" y2="${height}"/>`,
      `<text class="axis" x="${gx}" y="12" text-anchor="${i === 4 ? 'end' : 'start'}">+${formatMs(ms)}</text>`);
  }
  rows.forEach((r, i) => {
    const y = (i + 1) * ROW + 3;
    const cls = r.kind === 'wait' ? 'bar-wait' : r.pending ? 'bar-pending' : r.failed ? 'bar-failed' : r.abandoned ? 'bar-abandoned' : `bar-${r.kind}`;
    const took = r.end - r.start;
    const outcome = r.outcome ? ` → ${truncate(r.outcome, 200)}` : '';
    const state = r.pending ? 'running, ' : r.failed ? 'failed after ' : r.abandoned ? 'left when the execution ended, after ' : '';
    const title = `${r.label}: ${state}${formatMs(took)}${outcome}`;
    parts.push(`<g class="step" data-kind="${r.kind}"${r.failed ? ' data-failed="true"' : ''}${r.pending ? ' data-pending="true"' : ''}><title>${escape(title)}</title>`,
      `<text class="label" x="4" y="${y + 10}">${escape(truncate(r.label, 40))}</text>`);
    if (r.kind === 'event') {
      parts.push(`<circle class="mark-event" cx="${x(r.start)}" cy="${y + 6}" r="5"/>`);
    } else {
      parts.push(`<rect class="${cls}" x="${x(r.start)}" y="${y}" width="${Math.max(2, took * scale)}" height="${ROW - 6}" rx="2"/>`);
    }
    parts.push('</g>');
  });
  parts.push('</svg>');
  return { markup: parts.join(''), rows };
}

function truncate(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function formatMs(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 3600000) return `${(ms / 60000).toFixed(1)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}
