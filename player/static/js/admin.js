// admin.js — the users page: create accounts. (The jobs page has admin_jobs.js.)
import './common.js';
import { api, bindForm, toast } from './api.js';

bindForm(document.getElementById('user-form'), async (f) => {
  await api('POST', '/api/v1/users', { name: f.name, email: f.email, password: f.password, role: f.role });
  toast(`Account created for ${f.email}.`);
  setTimeout(() => location.reload(), 600);
});
