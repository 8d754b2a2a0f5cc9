// upload.js — resumable upload of a lesson's recording with tus-js-client,
// and the processing card: the lesson's transcode state, rendered from the
// lesson JSON the server put in page-data at once and from every poll
// while the job is queued, running or waiting to retry.
//
// tus-js-client remembers each upload in localStorage under a fingerprint
// of the lesson and the file, so after a reload, choosing the same file
// resumes from the offset the server reports instead of starting over.
// Lost connections are retried with backoff, and the browser coming back
// online resumes a stalled upload at once.
import './common.js';
import { api, clock, pageData, toast } from './api.js';
import { describeJob } from './jobstate.js';
import { teacherSentence } from './readiness.js';
import { ChapterEditor } from './chapter_editor.js';
import { initPublishing } from './publish.js';
import { fingerprintOf as fingerprintFor, isRefusal, recordingUpload, uploadErrorMessage } from './recording_upload.js';

const data = pageData();
const lessonID = data.lesson_id;
const chapters = new ChapterEditor(lessonID);
const $ = (id) => document.getElementById(id);
let upload = null;
let paused = false;

function fingerprintOf(file) {
  return fingerprintFor(lessonID, file);
}

function fmtBytes(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}

function setBar(id, pct, valueText) {
  const bar = $(id);
  bar.hidden = false;
  bar.setAttribute('aria-valuenow', String(Math.round(pct)));
  bar.setAttribute('aria-valuetext', valueText || `${Math.round(pct)}%`);
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
  setBar('upload-bar', pct, `${Math.floor(pct)}% uploaded`);
  $('upload-percent').textContent = `${pct.toFixed(1)}%`;
  $('upload-bytes').textContent = `${fmtBytes(sent)} of ${fmtBytes(total)}`;
  if (speed.rate > 0 && sent < total) {
    $('upload-speed').textContent = `${fmtBytes(speed.rate)}/s`;
    $('upload-eta').textContent = `${clock(((total - sent) / speed.rate) * 1000)} left`;
  }
}

/** refused ends an upload the server will not take; choosing a file starts anew. */
function refused(file) {
  const u = upload;
  upload = null;
  // The server has already removed a refused upload: nothing to terminate.
  u?.abort(false).catch(() => {}).finally(() => forget(file));
  $('upload-status').hidden = true;
  $('file').value = '';
}

/** forget drops what tus-js-client stored to resume file's upload. */
function forget(file) {
  const prefix = `tus::${fingerprintOf(file)}::`;
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const key = localStorage.key(i);
    if (key?.startsWith(prefix)) localStorage.removeItem(key);
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
  $('cancel').hidden = false;
  Object.assign(speed, { last: 0, bytes: 0, rate: 0 });
  upload = recordingUpload(file, lessonID, {
    onProgress,
    onError: (err) => {
      const status = err.originalResponse?.getStatus?.() || 0;
      showError(uploadErrorMessage(err));
      if (isRefusal(status)) {
        // The server refused this file: resuming cannot help, another file can.
        refused(file);
        return;
      }
      setPaused(true);
    },
    onSuccess: () => {
      setBar('upload-bar', 100, 'Uploaded');
      $('upload-percent').textContent = '100%';
      $('upload-eta').textContent = 'Upload complete.';
      $('upload-speed').textContent = '';
      $('pause').hidden = true;
      $('resume').hidden = true;
      $('cancel').hidden = true;
      $('file').value = '';
      // The processing card says what happens next, from the server.
      toast('Upload complete.');
      follow();
    },
  });
  upload.findPreviousUploads().then((prev) => {
    if (prev.length) upload.resumeFromPreviousUpload(prev[0]);
    setPaused(false);
    upload.start();
  });
}

/** announce tells screen readers about a change of state, once, politely. */
let announced = '';
function announce(d, first) {
  if (d.key === announced) return;
  announced = d.key;
  if (first) return; // the page itself says it on load
  $('transcode-announce').textContent = [d.title, d.detail].filter(Boolean).join('. ');
}

/**
 * render shows lesson l's state: the badge and Watch button at the top and
 * the processing card. It is the only place that turns the lesson JSON
 * into words on this page, at load and on every poll.
 */
function render(l, first = false) {
  const t = l.transcode;
  // A playable lesson without a job record is simply ready.
  const d = describeJob(t || (l.playable ? { state: 'succeeded' } : null));
  const badge = $('lesson-status');
  badge.replaceChildren(Object.assign(document.createElement('span'),
    { className: `badge badge-${d.state}`, textContent: d.badge }));
  $('head-watch').hidden = !l.playable;
  $('upload-heading').textContent = t ? 'Replace the recording' : 'Upload the recording';
  $('transcode-card').dataset.state = d.state;
  $('transcode-title').textContent = d.title;
  $('transcode-message').textContent = d.detail;
  $('transcode-message').hidden = !d.detail;
  $('transcode-advice').textContent = d.advice;
  $('transcode-advice').hidden = !d.advice;
  // While a long recording is published chunk by chunk, students watch it
  // already: the note says how much, in the watch page's figures.
  let note = teacherSentence(l);
  if (!note && l.playable && t && d.state !== 'succeeded') {
    note = d.active ? 'Students watch the previous recording until this one is ready.' : 'Students still watch the previous recording.';
  }
  $('transcode-note').textContent = note;
  $('transcode-note').hidden = !note;
  if (d.percent !== null) setBar('transcode-bar', d.percent, d.state === 'succeeded' ? 'Done' : `${d.percent}% converted`);
  else $('transcode-bar').hidden = true;
  $('transcode-done').hidden = !(l.playable && (!t || d.state === 'succeeded'));
  chapters.show(l);
  announce(d, first);
  return d;
}

/**
 * follow fetches the lesson and renders it, again every 2 s while its job
 * is queued, running or waiting to retry. Only one loop runs at a time.
 */
let following = null;
function follow() {
  if (following) return following;
  following = (async () => {
    for (;;) {
      let l;
      try {
        l = await api('GET', `/api/v1/lessons/${encodeURIComponent(lessonID)}`);
      } catch (err) {
        $('transcode-note').textContent = `Could not check the lesson: ${err.message} Trying again…`;
        $('transcode-note').hidden = false;
        await new Promise((r) => setTimeout(r, 5000));
        continue;
      }
      if (!render(l).active) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    following = null;
  })();
  return following;
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
  if (!confirm('Move this lesson to the trash? You can restore it from the Trash page.')) return;
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
if (render(data.lesson, true).active) follow();

initPublishing(pageData().lesson);
