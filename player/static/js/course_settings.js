// course_settings.js — the course page's settings for its teachers: edit
// the title, description and time zone; archive the course or restore it
// from the archive; move it to the trash.
import { api, bindForm, pageData, toast } from './api.js';

const data = pageData();
const path = `/api/v1/courses/${encodeURIComponent(data.course_id)}`;

// The browser knows the IANA names: offer them as suggestions.
const zones = document.getElementById('time-zones');
if (zones && Intl.supportedValuesOf) {
  for (const z of Intl.supportedValuesOf('timeZone')) zones.append(new Option(z));
}

bindForm(document.getElementById('course-settings-form'), async (f) => {
  await api('PATCH', path, { title: f.title, description: f.description, time_zone: f.time_zone.trim() });
  location.reload();
});

/** act runs a course action from a button, then goes where it leads. */
function act(id, question, fn) {
  const btn = document.getElementById(id);
  btn?.addEventListener('click', async () => {
    if (question && !confirm(question)) return;
    btn.disabled = true;
    try {
      await fn();
    } catch (err) {
      toast(err.message, true);
      btn.disabled = false;
    }
  });
}

act('course-archive', 'Archive this course? It becomes read-only for everyone and leaves the course list; students can still watch it.', async () => {
  await api('POST', `${path}/archive`);
  location.reload();
});
act('course-unarchive', null, async () => {
  await api('POST', `${path}/unarchive`);
  location.reload();
});
act('course-delete', 'Move this course and its lessons to the trash? You can restore it from the Trash page.', async () => {
  await api('DELETE', path);
  location.assign('/trash');
});
