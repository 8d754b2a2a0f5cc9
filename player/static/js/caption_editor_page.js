// caption_editor_page.js — the caption editor page: the lesson's video (plain hls.js,
// see attachPlayback in player.js) with its cues beside it (caption_editor.js),
// the track's settings, uploads, saving, versions and restoring.
//
// A teacher's unsaved edit is never lost: every change is kept as a draft
// in localStorage (per lesson and language) until it is saved or
// discarded, and offered back when the page opens again; leaving the page
// with unsaved changes asks first.
import './common.js';
import { api, ApiError, el, pageData, relTime } from './api.js';
import { watchASR } from './caption_asr.js';
import { CueEditor } from './caption_editor.js';
import { cueFrom, plainCues, sameCues, saveBody } from './caption_cues.js';
import { Drafts } from './caption_drafts.js';
import { EditorVideo } from './caption_playback.js';
import { confirmAction, renderVersions } from './caption_versions.js';

const data = pageData();
const $ = (id) => document.getElementById(id);
const video = $('video');
const NEW = '+new';
const MAX_FILE = 2 << 20;

const state = {
  tracks: data.tracks || [],
  lang: '',
  // The track on the server, or null for a language not saved yet.
  track: null,
  // The name a language not saved yet gets.
  newLabel: '',
  // The cues as last saved, to tell unsaved changes.
  base: [],
  // A draft from an earlier visit waiting for "restore" or "discard".
  offer: null,
  saving: false,
};

const captionsURL = (lang, rest = '') =>
  `/api/v1/lessons/${encodeURIComponent(data.lesson_id)}/captions${lang ? `/${encodeURIComponent(lang)}` : ''}${rest}`;

/** durationMS is the video's length: the server's, else the element's. */
function durationMS() {
  return data.duration_ms || (Number.isFinite(video.duration) ? Math.round(video.duration * 1000) : 0);
}


/** announce says text to screen readers (again, even when it is the same). */
function announce(text) {
  const a = $('announce');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 30);
}

/** showError puts message (or nothing) in the error box id. */
function showError(id, message) {
  const e = $(id);
  e.textContent = message || '';
  e.hidden = !message;
}

const editor = new CueEditor({
  list: $('cue-list'),
  durationMS,
  announce,
  onChange: () => { showError('editor-error', ''); scheduleDraft(); refresh(); },
  onSelect: () => refreshSelection(),
  onPlay: (ms) => playback.playFrom(ms),
});
const playback = new EditorVideo({ video, editor, durationMS });
const nowMS = () => playback.nowMS;
const drafts = new Drafts(data.lesson_id);

// ---- drafts ----

/** draftLangs are the languages with a draft and no track yet. */
function draftLangs() {
  return drafts.langs().filter((d) => !state.tracks.some((t) => t.lang === d.lang));
}

/** dirty reports whether the editor holds changes that are not saved. */
function dirty() {
  if (!state.lang || state.offer) return false;
  return state.track ? !sameCues(editor.cues, state.base) || editor.badTimes.size > 0 : editor.cues.length > 0;
}

let draftTimer = 0;
let draftWarned = false;
function scheduleDraft() {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(flushDraft, 300);
}

/** flushDraft keeps the unsaved cues on this device, or forgets them once saved. */
function flushDraft() {
  clearTimeout(draftTimer);
  // A draft on offer stays as it is until restored or discarded.
  if (!state.lang || state.offer) return;
  if (!dirty()) { drafts.clear(state.lang); return; }
  const kept = drafts.write(state.lang, {
    cues: plainCues(editor.cues), version: state.track?.version || 0, label: state.track ? '' : state.newLabel,
  });
  if (!kept && !draftWarned) showError('editor-error', 'This browser cannot keep a copy of your edits: save them before you leave the page.');
  draftWarned ||= !kept;
}

/** offerDraft shows a draft of this language left from an earlier visit. */
function offerDraft() {
  const d = drafts.read(state.lang);
  setOffer(null);
  if (!d) return;
  const cues = d.cues.map(cueFrom);
  if (state.track ? sameCues(cues, state.base) : !cues.length) { drafts.clear(state.lang); return; }
  const when = d.saved_at ? `${relTime(d.saved_at)}, ${new Date(d.saved_at).toLocaleString()}` : 'an earlier visit';
  let text = `You have edits to the ${trackName(state.lang)} captions that were not saved (${cues.length} cues, ${when}).`;
  if (state.track && d.version && d.version !== state.track.version) {
    text += ` The captions were saved again since then (now version ${state.track.version}); saving your edits makes a new version, and that one stays restorable.`;
  }
  $('draft-offer-text').textContent = text;
  setOffer({ cues, label: d.label });
  $('draft-restore').focus();
}

/** setOffer shows or hides the draft offer; the editor waits while it shows. */
function setOffer(offer) {
  state.offer = offer;
  $('draft-offer').hidden = !offer;
  for (const s of document.querySelectorAll('.cap-cues, .cap-tool')) s.inert = !!offer;
  $('upload-btn').disabled = !!offer;
  refresh();
}

$('draft-restore').addEventListener('click', () => {
  const { cues, label } = state.offer;
  setOffer(null);
  if (!state.track && label) state.newLabel = label;
  editor.change('Restore your unsaved edits', () => { editor.cues = cues; editor.sel = cues.length ? 0 : -1; });
  editor.focusRow(0);
  announce('Your unsaved edits are back. Save to keep them.');
});

$('draft-discard').addEventListener('click', () => {
  drafts.clear(state.lang);
  setOffer(null);
  announce('Discarded the unsaved edits.');
  if (!state.track) openFirst();
  else editor.focusRow(0);
});

addEventListener('beforeunload', (e) => {
  flushDraft();
  if (dirty()) {
    e.preventDefault();
    e.returnValue = '';
  }
});
addEventListener('pagehide', flushDraft);

// ---- tracks ----

/** trackName is what the page calls the captions in lang. */
function trackName(lang, label = lang === state.lang ? state.newLabel : '') {
  const t = state.tracks.find((x) => x.lang === lang);
  return t ? t.label : (label || languageName(lang) || lang);
}

function renderTrackSelect() {
  const sel = $('track-lang');
  const opts = state.tracks.map((t) => el('option', { value: t.lang },
    `${t.label} (${t.lang})${t.status === 'draft' ? ' · draft' : ''}${t.default ? ' · default' : ''}`));
  const local = draftLangs();
  if (state.lang && !state.track && !local.some((d) => d.lang === state.lang)) local.push({ lang: state.lang, label: state.newLabel });
  for (const d of local) opts.push(el('option', { value: d.lang }, `${trackName(d.lang, d.label)} (${d.lang}) · not saved`));
  opts.push(el('option', { value: NEW }, '+ New language…'));
  sel.replaceChildren(...opts);
  sel.value = state.lang || NEW;
}

function renderTrack() {
  const t = state.track;
  const hasLang = !!state.lang;
  for (const e of document.querySelectorAll('[data-needs-lang]')) e.hidden = !hasLang;
  for (const e of document.querySelectorAll('[data-needs-track]')) e.hidden = !t;
  // A language not saved yet can be named before its first save.
  $('track-label').closest('.field').hidden = !hasLang;
  $('track-label').value = t ? t.label : state.newLabel;
  $('track-label').placeholder = languageName(state.lang);
  // A saved track's name changes at once; a new one's with the first save.
  $('track-label').setAttribute('aria-describedby', t ? 'track-error track-settings-hint' : 'track-error');
  if (t) {
    $('track-status').value = t.status;
    $('track-default').checked = t.default;
    $('track-default').disabled = t.status === 'draft';
    $('track-default').title = t.status === 'draft' ? 'Publish the captions first: a draft is never the default.' : '';
  }
  const meta = $('track-meta');
  if (!hasLang) meta.textContent = '';
  else if (!t) meta.textContent = 'Not saved yet: upload a file, or add cues and press Save.';
  else meta.replaceChildren(`Version ${t.version} · ${t.cues} ${t.cues === 1 ? 'cue' : 'cues'} · saved `,
    el('time', { datetime: t.updated_at, title: new Date(t.updated_at).toLocaleString() }, relTime(t.updated_at)));
  showError('track-error', '');
  $('track-label').removeAttribute('aria-invalid');
}

/** languageName is a tag's name in that language ("Deutsch"), or ''. */
function languageName(tag) {
  if (!tag) return '';
  try {
    // Capitalised, as the server names a track ("Português (Brasil)").
    const name = new Intl.DisplayNames([tag], { type: 'language' }).of(tag) || '';
    return name.charAt(0).toLocaleUpperCase(tag) + name.slice(1);
  } catch { return ''; }
}

function upsertTrack(t) {
  const i = state.tracks.findIndex((x) => x.lang === t.lang);
  if (t.default) state.tracks.forEach((x) => { x.default = false; });
  if (i >= 0) state.tracks[i] = t; else state.tracks.push(t);
  state.tracks.sort((a, b) => (a.lang < b.lang ? -1 : 1));
  if (t.lang === state.lang) state.track = t;
}

/**
 * openLang shows the captions in lang: cues when given, else the server's.
 * label names a language not saved yet.
 */
async function openLang(lang, cues, label = '') {
  flushDraft();
  state.lang = lang;
  state.newLabel = label;
  $('save-state').textContent = '';
  state.track = state.tracks.find((t) => t.lang === lang) || null;
  $('new-lang-form').hidden = true;
  history.replaceState(null, '', lang ? `?lang=${encodeURIComponent(lang)}` : location.pathname);
  if (state.track && !cues) {
    try {
      cues = (await api('GET', captionsURL(lang, '?format=json'))).cues;
    } catch (err) {
      showError('track-error', err.message);
      return;
    }
    if (state.lang !== lang) return;
  }
  setBase(cues || []);
  renderTrackSelect();
  renderTrack();
  offerDraft();
  loadVersions();
}

/** setBase puts saved cues in the editor. */
function setBase(cues) {
  state.base = cues.map(cueFrom);
  editor.setCues(state.base.map((c) => ({ ...c })));
  refresh();
}

/** openFirst opens the default track, else the first, else asks for a language. */
function openFirst() {
  const t = state.tracks.find((x) => x.default) || state.tracks[0];
  const local = draftLangs()[0];
  if (t) openLang(t.lang);
  else if (local) openLang(local.lang, undefined, local.label);
  else showNewLang();
}

function showNewLang() {
  const f = $('new-lang-form');
  f.hidden = false;
  $('new-lang-intro').textContent = state.tracks.length || state.lang
    ? 'Captions in another language: give its tag, then upload a caption file or type the cues.'
    : 'This lesson has no captions yet. Give the language of the first ones, then upload a caption file or type the cues.';
  $('new-lang-cancel').hidden = !state.lang;
  $('track-lang').value = NEW;
  renderTrack();
}

$('track-lang').addEventListener('change', (e) => {
  const v = e.target.value;
  if (v === NEW) {
    showNewLang();
    $('new-lang-tag').focus();
    return;
  }
  if (dirty()) announce(`Your edits to the ${trackName(state.lang)} captions are kept on this device as a draft.`);
  openLang(v, undefined, drafts.read(v)?.label || '');
});

$('new-lang-cancel').addEventListener('click', () => {
  $('new-lang-form').hidden = true;
  $('track-lang').value = state.lang;
  renderTrack();
  $('track-lang').focus();
});

$('new-lang-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const raw = $('new-lang-tag').value.trim();
  let tag = '';
  try { [tag] = Intl.getCanonicalLocales(raw.replaceAll('_', '-')); } catch { tag = ''; }
  const err = !raw ? 'Enter a language tag, such as en, fr or pt-BR.'
    : !tag || !/^[a-z]{2,3}(-|$)/i.test(tag) ? `“${raw.slice(0, 40)}” is not a language tag: use one such as en, fr or pt-BR.` : '';
  $('new-lang-tag').toggleAttribute('aria-invalid', !!err);
  showError('new-lang-error', err);
  if (err) { $('new-lang-tag').focus(); return; }
  const existing = state.tracks.find((t) => t.lang.toLowerCase() === tag.toLowerCase());
  const label = $('new-lang-label').value.trim();
  $('new-lang-form').reset();
  if (existing) {
    openLang(existing.lang);
    announce(`This lesson already has ${existing.label} captions: here they are.`);
    return;
  }
  openLang(tag, [], label);
  announce(`New captions in ${label || languageName(tag) || tag}. Upload a file, or add cues and save.`);
  $('upload-btn').focus();
});

// ---- track settings, delete, upload ----

/** patchTrack changes a setting of the open track at once. */
async function patchTrack(body, done) {
  showError('track-error', '');
  try {
    const t = await api('PATCH', captionsURL(state.lang), body);
    upsertTrack(t);
    renderTrackSelect();
    renderTrack();
    announce(done(t));
  } catch (err) {
    renderTrack();
    showError('track-error', err.message);
    if ('label' in body) {
      $('track-label').value = body.label;
      $('track-label').setAttribute('aria-invalid', 'true');
      $('track-label').focus();
    }
  }
}

$('track-label').addEventListener('change', (e) => {
  const label = e.target.value.trim();
  if (!state.track) {
    state.newLabel = label;
    scheduleDraft();
    renderTrackSelect();
    return;
  }
  patchTrack({ label }, (t) => `The captions are now called ${t.label} in the player.`);
});

$('track-status').addEventListener('change', (e) => {
  const status = e.target.value;
  patchTrack({ status }, (t) => (t.status === 'draft'
    ? `The ${t.label} captions are a draft now: only the course's teachers see them.`
    : `The ${t.label} captions are published: everyone in the course sees them.`));
});

$('track-default').addEventListener('change', (e) => {
  patchTrack({ default: e.target.checked }, (t) => (t.default
    ? `${t.label} are now the default captions.`
    : `${t.label} are no longer the default captions.`));
});

$('delete-track').addEventListener('click', async () => {
  const t = state.track;
  if (!t) return;
  const ok = await confirmAction(`Delete the ${t.label} captions?`,
    `This removes the ${t.label} captions and all ${t.version} of their versions, for good. Students no longer see them.`,
    'Delete for good', true);
  if (!ok) { $('delete-track').focus(); return; }
  try {
    await api('DELETE', captionsURL(t.lang));
  } catch (err) {
    showError('track-error', err.message);
    return;
  }
  state.tracks = state.tracks.filter((x) => x.lang !== t.lang);
  drafts.clear(t.lang);
  state.lang = '';
  state.track = null;
  history.replaceState(null, '', location.pathname);
  openFirst();
  renderTrackSelect();
  announce(`Deleted the ${t.label} captions.`);
  $('track-lang').focus();
});

$('upload-btn').addEventListener('click', () => $('track-file').click());

$('track-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file || !state.lang) return;
  showError('track-error', '');
  if (file.size > MAX_FILE) {
    showError('track-error', `“${file.name}” is larger than 2 MiB: that is not a caption file, or one this server does not take.`);
    return;
  }
  if (dirty()) {
    const ok = await confirmAction('Replace your unsaved edits?',
      `The cues of “${file.name}” replace the ones in the editor, and your unsaved edits are lost. Saved versions stay restorable.`,
      'Upload and replace', true);
    if (!ok) { $('upload-btn').focus(); return; }
  }
  const q = !state.track && state.newLabel ? `?label=${encodeURIComponent(state.newLabel)}` : '';
  $('upload-btn').disabled = true;
  try {
    const t = await putFile(captionsURL(state.lang, q), file);
    await afterSave(t, `Uploaded “${file.name}”: version ${t.version}, ${t.cues} cues.`);
    showWarnings(t.warnings, `“${file.name}”`);
  } catch (err) {
    showError('track-error', err.message);
  } finally {
    $('upload-btn').disabled = false;
  }
});

/** putFile sends a caption file as it is and returns the API's answer. */
async function putFile(url, file) {
  let resp;
  try {
    resp = await fetch(url, { method: 'PUT', credentials: 'same-origin', body: file,
      headers: { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream' } });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const e = body?.error || {};
    throw new ApiError(resp.status, e.code || 'internal', e.message || `The upload failed (${resp.status}).`);
  }
  return body;
}

/** showWarnings lists what normalising changed in what was sent, or hides the list. */
function showWarnings(warnings, what) {
  const box = $('warnings');
  box.hidden = !warnings?.length;
  if (box.hidden) return;
  $('warnings-what').textContent = what;
  $('warnings-list').replaceChildren(...warnings.map((w) => el('li', {}, w)));
}

$('warnings-close').addEventListener('click', () => { $('warnings').hidden = true; });

// ---- saving and versions ----

/** afterSave shows the track the server saved, with its cues as the new base. */
async function afterSave(t, message) {
  const oldLang = state.lang;
  drafts.clear(oldLang);
  upsertTrack(t);
  // The server may spell a new tag its own way (pt-br → pt-BR).
  state.lang = t.lang;
  state.track = t;
  state.offer = null;
  const { cues } = await api('GET', captionsURL(t.lang, '?format=json'));
  setBase(cues);
  history.replaceState(null, '', `?lang=${encodeURIComponent(t.lang)}`);
  renderTrackSelect();
  renderTrack();
  setOffer(null);
  $('save-state').textContent = `Saved version ${t.version}`;
  announce(message);
  await loadVersions();
}

async function save() {
  if (state.saving) return;
  if (!dirty()) {
    if (state.lang) announce('Nothing to save: the captions are as last saved.');
    return;
  }
  const problems = editor.problems();
  if (problems.length) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more to fix)` : '';
    showError('editor-error', `Not saved: ${problems[0].message}${more}`);
    editor.showProblems(problems);
    return;
  }
  state.saving = true;
  $('save-btn').textContent = 'Saving…';
  refresh();
  const list = $('cue-list');
  list.inert = true;
  const q = !state.track && state.newLabel ? `?label=${encodeURIComponent(state.newLabel)}` : '';
  try {
    const t = await api('PUT', captionsURL(state.lang, q), saveBody(editor.cues));
    await afterSave(t, `Saved version ${t.version}.${t.warnings.length ? ' Lectern tidied a few things: see the list above the video.' : ''}`);
    showWarnings(t.warnings, 'your save');
  } catch (err) {
    showError('editor-error', `Not saved: ${err.message}`);
  } finally {
    state.saving = false;
    list.inert = false;
    $('save-btn').textContent = 'Save';
    refresh();
  }
}

$('save-btn').addEventListener('click', save);

async function loadVersions() {
  const ol = $('versions');
  if (!state.track) { ol.replaceChildren(); return; }
  const lang = state.lang;
  try {
    const { versions } = await api('GET', captionsURL(lang, '/versions'));
    if (lang === state.lang) renderVersions(ol, versions, restore);
  } catch (err) {
    ol.replaceChildren(el('li', { class: 'form-error' }, err.message));
  }
}

async function restore(v) {
  const lost = dirty() ? ' Your unsaved edits in the editor are lost.' : '';
  const ok = await confirmAction(`Restore version ${v.version}?`,
    `Its ${v.cues} cues become the current captions, saved as a new version; the current version stays in the list.${lost}`,
    `Restore version ${v.version}`);
  if (!ok) return;
  try {
    const t = await api('POST', captionsURL(state.lang, `/versions/${v.version}/restore`));
    await afterSave(t, `Restored version ${v.version} as version ${t.version}.`);
    $('warnings').hidden = true;
    $('versions-heading').focus();
  } catch (err) {
    showError('editor-error', err.message);
  }
}

// ---- the cue tools ----

/** tool runs an editor operation and shows its refusal, if any. */
function tool(fn) {
  if (state.offer || !state.lang) return;
  // The error box is an alert: screen readers hear the refusal there.
  showError('editor-error', fn());
}

$('add-cue').addEventListener('click', () => tool(() => editor.addAt(nowMS())));
$('set-start').addEventListener('click', () => tool(() => editor.setTime('start', nowMS())));
$('set-end').addEventListener('click', () => tool(() => editor.setTime('end', nowMS())));
$('split-cue').addEventListener('click', () => tool(() => editor.split(nowMS())));
$('merge-cue').addEventListener('click', () => tool(() => editor.mergeNext()));
$('delete-cue').addEventListener('click', () => tool(() => editor.remove()));
$('undo-btn').addEventListener('click', () => editor.undo());

function shiftBy(sign) {
  const raw = $('shift-ms').value.trim();
  const ms = Number(raw);
  let message = '';
  if (!/^\d+$/.test(raw) || ms <= 0) message = 'Enter a whole number of milliseconds, like 500.';
  else if (ms > 3600000) message = 'Shift by at most an hour (3600000 ms).';
  else message = editor.shift(sign * ms, $('shift-scope').value);
  $('shift-ms').toggleAttribute('aria-invalid', !!message);
  showError('shift-error', message);
  if (message) $('shift-ms').focus();
}
$('shift-earlier').addEventListener('click', () => shiftBy(-1));
$('shift-later').addEventListener('click', () => shiftBy(1));

/** refresh updates what depends on the cues: counts, save state, undo. */
function refresh() {
  const n = editor.cues.length;
  $('cue-count').textContent = String(n);
  $('cue-count').setAttribute('aria-label', `${n} ${n === 1 ? 'cue' : 'cues'}`);
  $('cues-empty').hidden = n > 0;
  const d = dirty();
  $('save-btn').disabled = !d || state.saving;
  $('undo-btn').disabled = !editor.canUndo || state.saving;
  $('undo-btn').title = editor.canUndo ? `Undo: ${editor.undoLabel} (Ctrl+Z)` : 'Nothing to undo';
  const s = $('save-state');
  if (d) s.textContent = state.track ? 'Unsaved changes' : 'Not saved yet';
  else if (!s.textContent.startsWith('Saved')) s.textContent = state.track ? 'All changes saved' : '';
  s.classList.toggle('is-dirty', d);
  refreshSelection();
  playback.showPreview();
}

function refreshSelection() {
  const c = editor.selected;
  $('sel-name').textContent = c ? `Cue ${editor.sel + 1}:` : 'No cue selected';
  for (const b of document.querySelectorAll('[data-needs-sel]')) {
    b.disabled = !c || !!state.offer || (b.hasAttribute('data-needs-video') && !playback.ready);
  }
}

// ---- keyboard ----

document.addEventListener('keydown', (e) => {
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const mod = (e.ctrlKey || e.metaKey) && !e.altKey;
  const t = e.target;
  const typing = !!t.closest?.('input, textarea, select, [contenteditable], dialog[open]');
  if (mod && key === 's') { e.preventDefault(); save(); return; }
  if (mod && !e.shiftKey && key === 'z' && !typing) { e.preventDefault(); editor.undo(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey || typing) return;
  // The video's own controls and buttons keep Space for themselves.
  if (key === ' ' && (t === video || t.closest?.('button, a, summary'))) return;
  const acts = {
    ' ': () => playback.toggle(),
    k: () => playback.toggle(),
    j: () => playback.skip(-1000),
    l: () => playback.skip(1000),
    ',': () => playback.skip(-100),
    '.': () => playback.skip(100),
    '[': () => playback.ready && tool(() => editor.setTime('start', nowMS())),
    ']': () => playback.ready && tool(() => editor.setTime('end', nowMS())),
    n: () => tool(() => editor.addAt(nowMS())),
    s: () => tool(() => editor.split(nowMS())),
    '?': () => $('help-dialog').showModal(),
  };
  const act = acts[key];
  if (!act) return;
  e.preventDefault();
  act();
});

$('cap-help-btn').addEventListener('click', () => $('help-dialog').showModal());

// ---- start ----

playback.start(data.lesson_id, !!data.lesson?.playable).then(refreshSelection);
{
  // A language not saved yet comes back after a reload from its draft.
  const want = new URLSearchParams(location.search).get('lang');
  const local = draftLangs().find((d) => d.lang === want);
  if (local) openLang(local.lang, undefined, local.label);
  else if (data.lang) openLang(data.lang, data.cues);
  else openFirst();
}
renderTrackSelect();
renderTrack();
refresh();

// The draft automatic captions make joins the languages once it is made;
// tracks already listed (the one being edited among them) stay as they are.
watchASR($('asr-status'), captionsURL(''), data.asr, (tracks) => {
  const fresh = tracks.filter((t) => t.lang !== state.lang && !state.tracks.some((x) => x.lang === t.lang));
  if (!fresh.length) return;
  fresh.forEach(upsertTrack);
  renderTrackSelect();
});
