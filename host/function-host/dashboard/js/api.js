// Calls to the host: the dashboard's own API and the management API, with the key (if the
// host needs one) in the x-functions-key header.

const KEY = 'durable-dashboard-key';
const MANAGEMENT = '/runtime/webhooks/durabletask';

/** The host refused the request for want of a key (or the key was wrong). */
export class KeyNeeded extends Error {}

/** The key in use (kept for this tab only), or null. */
export function key() {
  return sessionStorage.getItem(KEY);
}

/** Keeps `value` as the key for this tab. */
export function setKey(value) {
  sessionStorage.setItem(KEY, value);
}

const enc = encodeURIComponent;

/** Sends a request; answers the parsed JSON body (or null), throws with the host's message. */
async function call(method, path, body) {
  const headers = { Accept: 'application/json' };
  const k = key();
  if (k) headers['x-functions-key'] = k;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) throw new KeyNeeded('the host needs a key');
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = text; }
  }
  if (!response.ok) {
    const message = (json && (json.Message || json.message)) || `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  return json;
}

/** `filter` as query parameters: status (list), name, prefix, tags (`key=value` pairs separated
 * by commas: instances with every one), from, to, top. */
function query(filter, extra = {}) {
  const p = new URLSearchParams();
  if (filter.statuses && filter.statuses.length) p.set('runtimeStatus', filter.statuses.join(','));
  if (filter.name) p.set('name', filter.name);
  if (filter.prefix) p.set('instanceIdPrefix', filter.prefix);
  for (const pair of (filter.tags || '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) p.set(`tag.${pair.slice(0, at).trim()}`, pair.slice(at + 1).trim());
  }
  if (filter.from) p.set('createdTimeFrom', new Date(filter.from).toISOString());
  if (filter.to) p.set('createdTimeTo', new Date(filter.to).toISOString());
  if (filter.order) p.set('order', filter.order);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) p.set(k, v);
  return p.toString();
}

/** What the host allows this tab: `{authorized, newestFirst}` (the store can sort so). */
export function access() {
  return call('GET', '/dashboard/api/access');
}

/** One page of instance rows. */
export function instances(filter, continuation, top = 50) {
  return call('GET', `/dashboard/api/instances?${query(filter, { top, continuation })}`);
}

/** Instances by status for the filter (its statuses aside). */
export function counts(filter) {
  return call('GET', `/dashboard/api/counts?${query(filter)}`);
}

/** An instance with its raw history. */
export function instance(id) {
  return call('GET', `/dashboard/api/instances/${enc(id)}`);
}

/** Raises event `name` with `data` (any JSON) on instance `id`. */
export function raiseEvent(id, name, data) {
  return call('POST', `${MANAGEMENT}/instances/${enc(id)}/raiseEvent/${enc(name)}`, data);
}

/** terminate, suspend, resume, rewind or restart, with a reason where it takes one. */
export function operate(id, operation, reason) {
  const q = reason ? `?reason=${enc(reason)}` : '';
  return call('POST', `${MANAGEMENT}/instances/${enc(id)}/${operation}${q}`);
}

/** Deletes an instance and its history. */
export function purge(id) {
  return call('DELETE', `${MANAGEMENT}/instances/${enc(id)}`);
}

/** A page of entities with state, lock holder and queue, optionally of one name. */
export function entities(name, continuation) {
  const p = new URLSearchParams();
  if (name) p.set('name', name);
  if (continuation) p.set('continuation', continuation);
  return call('GET', `/dashboard/api/entities?${p}`);
}

/** One entity, read now: `{exists, state, lockedBy, queueSize, lastOperationTime}`. */
export function entity(name, entityKey) {
  return call('GET', `/dashboard/api/entity?name=${enc(name)}&key=${enc(entityKey)}`);
}

/** Signals operation `op` with `input` (any JSON, or undefined) to entity `name`/`key`. */
export function signal(name, entityKey, op, input) {
  const k = entityKey === '' ? '$' : entityKey;
  return call('POST', `${MANAGEMENT}/entities/${enc(name)}/${enc(k)}?op=${enc(op)}`, input);
}
