// courses.js — create a course (teachers) or join one by code (students),
// and dismiss the answers to my questions once read.
import './common.js';
import { api, bindForm, toast } from './api.js';

bindForm(document.getElementById('course-form'), async (f) => {
  const c = await api('POST', '/api/v1/courses', { title: f.title, description: f.description });
  location.assign('/courses/' + encodeURIComponent(c.id));
});

bindForm(document.getElementById('join-form'), async (f) => {
  const c = await api('POST', '/api/v1/courses/join', { code: f.code });
  location.assign('/courses/' + encodeURIComponent(c.id));
});

document.getElementById('answers-read')?.addEventListener('click', async () => {
  try {
    await api('POST', '/api/v1/me/notifications/read', {});
    document.getElementById('answers').hidden = true;
  } catch (err) { toast(err.message, true); }
});
