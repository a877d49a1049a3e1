// The dashboard's shell: routes (#/, #/instance/{id}, #/entities, #/entity/{name}/{key}), the
// key dialog, and the refresh loop of the page in view.

import { KeyNeeded, access, key, setKey } from './api.js';
import { fill, h } from './dom.js';
import { offerNewestFirst, showList } from './list.js';
import { showInstance } from './detail.js';
import { showEntities, showEntity } from './entities.js';

const main = document.getElementById('main');
let current = null; // { stop() } of the page in view
let admitted = false; // the host has let this tab in

/** Runs `load` now and, while the page is in view, again whenever it asks to (polling). */
function route() {
  if (current) current.stop();
  const hash = location.hash.replace(/^#/, '') || '/';
  let section = 'instances';
  if (hash.startsWith('/instance/')) {
    current = showInstance(main, decodeURIComponent(hash.slice('/instance/'.length)), failed);
  } else if (hash.startsWith('/entity/')) {
    section = 'entities';
    const [name, key] = hash.slice('/entity/'.length).split('/').map(decodeURIComponent);
    current = showEntity(main, name, key ?? '', failed);
  } else if (hash.startsWith('/entities')) {
    section = 'entities';
    current = showEntities(main, failed);
  } else {
    current = showList(main, failed);
  }
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** A load failed: ask for a key, or say what went wrong. */
function failed(error) {
  if (error instanceof KeyNeeded) {
    askKey();
    return;
  }
  const state = document.getElementById('hub-state');
  fill(state, h('span', { className: 'error', role: 'alert' }, String(error.message || error)));
}

function askKey(message = '') {
  const dialog = document.getElementById('key-dialog');
  if (dialog.open) return;
  fill(document.getElementById('key-error'), message);
  dialog.showModal();
}

document.getElementById('key-form').addEventListener('submit', () => {
  setKey(document.getElementById('key-input').value.trim());
  document.getElementById('key-input').value = '';
  start();
});

/** Shows the page in view once the host lets this tab in; asks for the key until then. */
async function start() {
  try {
    const allowed = await access();
    if (!allowed.authorized) {
      askKey(key() ? 'The host did not accept this key.' : '');
      return;
    }
    offerNewestFirst(allowed.newestFirst === true);
  } catch (e) {
    failed(e);
    return;
  }
  admitted = true;
  route();
}

window.addEventListener('hashchange', () => { if (admitted) route(); });
start();
