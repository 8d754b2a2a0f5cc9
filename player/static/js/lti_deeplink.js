// lti_deeplink.js — the deep linking picker: a teacher uploads a new
// lesson on the spot (created through the API, its recording sent with
// the same resumable upload as the upload page), and it joins the list,
// chosen. The choice itself is a plain form post (lti_deeplink.html).
import './common.js';
import { api, el, pageData } from './api.js';
import { recordingUpload, uploadErrorMessage } from './recording_upload.js';

const data = pageData();
const $ = (id) => document.getElementById(id);
let busy = false;

function fail(msg) {
  $('dl-new-error').textContent = msg;
  $('dl-new-error').hidden = !msg;
}

function progress(pct) {
  const bar = $('dl-new-bar');
  bar.hidden = false;
  bar.setAttribute('aria-valuenow', String(Math.round(pct)));
  bar.querySelector('.bar').style.width = `${pct}%`;
}

/** choose adds the new lesson to the list, chosen. */
function choose(lesson) {
  const input = el('input', { type: data.multiple ? 'checkbox' : 'radio', name: 'lesson', value: lesson.id });
  input.checked = true;
  $('dl-lessons').append(el('li', { class: 'lti-pick' },
    el('label', {}, input, ' ', el('span', { class: 'lti-pick-title' }, lesson.title), ' ',
      el('span', { class: 'badge badge-processing' }, 'Processing'))));
  $('dl-empty').hidden = true;
}

$('dl-new-upload').addEventListener('click', async () => {
  if (busy) return;
  fail('');
  const title = $('dl-new-title').value.trim();
  const file = $('dl-new-file').files[0];
  if (!title) { fail('A lesson needs a title.'); $('dl-new-title').focus(); return; }
  if (!file) { fail('Choose the recording to upload.'); $('dl-new-file').focus(); return; }
  busy = true;
  let lesson;
  try {
    lesson = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/lessons`, { title, publish_at: 'now' });
  } catch (err) {
    busy = false;
    fail(err.message);
    return;
  }
  $('dl-new-status').textContent = `Uploading ${file.name}…`;
  const upload = recordingUpload(file, lesson.id, {
    onProgress: (sent, total) => progress(total ? (sent / total) * 100 : 0),
    onError: (err) => {
      busy = false;
      fail(uploadErrorMessage(err));
      $('dl-new-status').textContent = '';
    },
    onSuccess: () => {
      busy = false;
      progress(100);
      $('dl-new-status').textContent = `Uploaded “${lesson.title}”. It is chosen in the list; add it to the LMS course when you are ready.`;
      $('dl-new-title').value = '';
      $('dl-new-file').value = '';
      choose(lesson);
    },
  });
  upload.start();
});
