// upload.js — resumable upload of a lesson's recording with tus-js-client,
// then live transcode progress until the lesson is ready.
//
// tus-js-client remembers each upload in localStorage under a fingerprint
// of the lesson and the file, so after a reload, choosing the same file
// resumes from the offset the server reports instead of starting over.
// Lost connections are retried with backoff, and the browser coming back
// online resumes a stalled upload at once.
import './common.js';
import { api, clock, pageData, toast } from './api.js';

const data = pageData();
const lessonID = data.lesson_id;
const $ = (id) => document.getElementById(id);
let upload = null;
let paused = false;
let polling = false;

function fingerprintOf(file) {
  return ['lectern', lessonID, file.name, file.type, file.size, file.lastModified].join('|');
}

function fmtBytes(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

function setBar(id, pct) {
  const bar = $(id);
  bar.hidden = false;
  bar.setAttribute('aria-valuenow', String(Math.round(pct)));
  bar.querySelector('.bar').style.width = `${pct}%`;
  bar.classList.toggle('is-done', pct >= 100);
}

function showError(msg) {
  const e = $('upload-error');
  e.textContent = msg;
  e.hidden = !msg;
}

/** showPreviousUploads tells the user an unfinished upload can be resumed. */
function showPreviousUploads() {
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key.startsWith(`tus::lectern|${lessonID}|`)) continue;
    try {
      const prev = JSON.parse(localStorage.getItem(key));
      const note = $('resume-note');
      note.textContent = `An unfinished upload of “${prev.metadata?.filename || 'a file'}” (${fmtBytes(prev.size)}) was interrupted. Choose the same file to continue where it stopped.`;
      note.hidden = false;
      return;
    } catch { /* ignore */ }
  }
}

// speed is an exponential moving average over progress events.
const speed = { last: 0, bytes: 0, rate: 0 };
function onProgress(sent, total) {
  const now = performance.now();
  if (speed.last) {
    const dt = (now - speed.last) / 1000;
    if (dt > 0.2) {
      const r = (sent - speed.bytes) / dt;
      speed.rate = speed.rate ? speed.rate * 0.7 + r * 0.3 : r;
      speed.last = now;
      speed.bytes = sent;
    }
  } else {
    speed.last = now;
    speed.bytes = sent;
  }
  const pct = total ? (sent / total) * 100 : 0;
  setBar('upload-bar', pct);
  $('upload-percent').textContent = `${pct.toFixed(1)}%`;
  $('upload-bytes').textContent = `${fmtBytes(sent)} of ${fmtBytes(total)}`;
  if (speed.rate > 0 && sent < total) {
    $('upload-speed').textContent = `${fmtBytes(speed.rate)}/s`;
    $('upload-eta').textContent = `${clock(((total - sent) / speed.rate) * 1000)} left`;
  }
}

function setPaused(p) {
  paused = p;
  $('pause').hidden = p;
  $('resume').hidden = !p;
}

function start(file) {
  if (!file) return;
  if (upload) upload.abort();
  showError('');
  $('resume-note').hidden = true;
  $('upload-status').hidden = false;
  $('upload-file').textContent = file.name;
  $('upload-speed').textContent = '';
  $('upload-eta').textContent = '';
  Object.assign(speed, { last: 0, bytes: 0, rate: 0 });
  upload = new window.tus.Upload(file, {
    endpoint: '/api/v1/uploads',
    chunkSize: 16 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
    metadata: { lesson_id: lessonID, filename: file.name, filetype: file.type || 'application/octet-stream' },
    fingerprint: async (f) => fingerprintOf(f),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onProgress,
    onShouldRetry: (err) => {
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
      return !(status >= 400 && status < 500 && status !== 409 && status !== 423);
    },
    onError: (err) => {
      const body = err.originalResponse?.getBody?.();
      let msg = 'The upload stopped. Check your connection and press Resume.';
      try { msg = JSON.parse(body).error.message || msg; } catch { /* not JSON */ }
      showError(msg);
      setPaused(true);
    },
    onSuccess: () => {
      setBar('upload-bar', 100);
      $('upload-percent').textContent = '100%';
      $('upload-eta').textContent = 'Uploaded';
      $('upload-speed').textContent = '';
      $('pause').hidden = true;
      $('resume').hidden = true;
      $('cancel').hidden = true;
      toast('Upload complete. Processing has started.');
      pollStatus();
    },
  });
  upload.findPreviousUploads().then((prev) => {
    if (prev.length) upload.resumeFromPreviousUpload(prev[0]);
    setPaused(false);
    upload.start();
  });
}

const STATUS_TEXT = {
  awaiting_upload: 'Waiting for the recording.',
  queued: 'Queued: waiting for a worker to start converting it.',
  processing: 'Converting for streaming…',
  ready: 'Ready. Students can watch it now.',
  failed: 'Processing failed.',
};

/** pollStatus follows the transcode until the lesson is ready or failed. */
async function pollStatus() {
  if (polling) return;
  polling = true;
  for (;;) {
    let l;
    try { l = await api('GET', `/api/v1/lessons/${encodeURIComponent(lessonID)}`); } catch (err) {
      $('transcode-message').textContent = err.message;
      await new Promise((r) => setTimeout(r, 5000));
      continue;
    }
    const badge = $('lesson-status').firstElementChild;
    if (badge) {
      badge.className = `badge badge-${l.status}`;
      badge.textContent = l.status.charAt(0).toUpperCase() + l.status.slice(1).replaceAll('_', ' ');
    }
    let msg = STATUS_TEXT[l.status] || l.status;
    if (l.status === 'failed' && l.transcode?.error) msg = `Processing failed: ${l.transcode.error}`;
    if (l.status === 'processing' || l.status === 'queued') {
      const pct = l.transcode?.percent || 0;
      setBar('transcode-bar', pct);
      if (l.status === 'processing') msg = `Converting for streaming… ${Math.round(pct)}%`;
    }
    $('transcode-message').textContent = msg;
    if (l.status === 'ready') {
      setBar('transcode-bar', 100);
      $('transcode-done').hidden = false;
      break;
    }
    if (l.status === 'failed' || l.status === 'awaiting_upload') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  polling = false;
}

$('file').addEventListener('change', (ev) => start(ev.target.files[0]));
const dz = $('dropzone');
dz.addEventListener('dragover', (ev) => { ev.preventDefault(); dz.classList.add('is-over'); });
dz.addEventListener('dragleave', () => dz.classList.remove('is-over'));
dz.addEventListener('drop', (ev) => {
  ev.preventDefault();
  dz.classList.remove('is-over');
  start(ev.dataTransfer.files[0]);
});
$('pause').addEventListener('click', () => { upload?.abort(); setPaused(true); });
$('resume').addEventListener('click', () => { showError(''); setPaused(false); upload?.start(); });
$('cancel').addEventListener('click', async () => {
  if (!upload) return;
  await upload.abort(true).catch(() => {});
  upload = null;
  $('upload-status').hidden = true;
  $('file').value = '';
});
window.addEventListener('online', () => { if (upload && paused) { showError(''); setPaused(false); upload.start(); } });
$('delete-lesson').addEventListener('click', async () => {
  if (!confirm('Delete this lesson and everything on it? This cannot be undone.')) return;
  try {
    await api('DELETE', `/api/v1/lessons/${encodeURIComponent(lessonID)}`);
    location.assign(`/courses/${encodeURIComponent(data.course_id)}`);
  } catch (err) { toast(err.message, true); }
});

$('details-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const title = $('details-title').value.trim();
  const description = $('details-description').value.trim();
  const err = $('details-error');
  err.hidden = true;
  if (!title) {
    err.textContent = 'A lesson needs a title.';
    err.hidden = false;
    $('details-title').focus();
    return;
  }
  try {
    const l = await api('PATCH', `/api/v1/lessons/${encodeURIComponent(lessonID)}`, { title, description });
    $('lesson-title').textContent = l.title;
    $('lesson-description').textContent = l.description;
    $('lesson-description').hidden = !l.description;
    toast('Details saved.');
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
  }
});

showPreviousUploads();
if (['queued', 'processing'].includes(data.status)) pollStatus();
