// caption_versions.js — the caption editor's list of saved versions (with
// who saved each, when and how many cues, and a Restore button), and its
// confirmation dialog.
import { el, relTime } from './api.js';

const SOURCES = { upload: 'Uploaded file', editor: 'Saved in the editor', recognizer: 'Automatic captions' };

/** renderVersions fills ol with versions (the API's, newest first); onRestore(v) restores one. */
export function renderVersions(ol, versions, onRestore) {
  ol.replaceChildren(...versions.map((v) => {
    const source = v.source === 'restore' ? `Restored version ${v.restored_from}` : SOURCES[v.source] || v.source;
    const count = `${v.cues} ${v.cues === 1 ? 'cue' : 'cues'}`;
    return el('li', { class: `cap-version${v.current ? ' is-current' : ''}`, dataset: { version: String(v.version) } },
      el('div', {},
        el('p', { class: 'cap-version-title' }, el('strong', {}, `Version ${v.version}`),
          v.current && el('span', { class: 'badge badge-ready' }, 'Current')),
        el('p', { class: 'cap-version-meta' }, source, v.author ? ` by ${v.author.name}` : ''),
        el('p', { class: 'cap-version-meta' },
          el('time', { datetime: v.created_at, title: new Date(v.created_at).toLocaleString() }, relTime(v.created_at)),
          el('span', {}, count))),
      !v.current && el('button', {
        type: 'button', class: 'btn btn-small', 'aria-label': `Restore version ${v.version}`, onclick: () => onRestore(v),
      }, 'Restore'));
  }));
}

/**
 * confirmAction asks in the page's confirm dialog and resolves to true
 * for OK. A destructive question (danger) starts on Cancel, so that Enter
 * never deletes by accident.
 */
export function confirmAction(title, text, okLabel, danger = false) {
  const $ = (id) => document.getElementById(id);
  const d = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  $('confirm-ok').className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    if (danger) $('confirm-cancel').focus();
  });
}
