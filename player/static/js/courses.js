// courses.js — create a course (teachers) or join one by code (students).
import './common.js';
import { api, bindForm } from './api.js';

bindForm(document.getElementById('course-form'), async (f) => {
  const c = await api('POST', '/api/v1/courses', { title: f.title, description: f.description });
  location.assign('/courses/' + encodeURIComponent(c.id));
});

bindForm(document.getElementById('join-form'), async (f) => {
  const c = await api('POST', '/api/v1/courses/join', { code: f.code });
  location.assign('/courses/' + encodeURIComponent(c.id));
});
