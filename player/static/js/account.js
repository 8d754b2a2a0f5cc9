// account.js — the account page (name, new address confirmed by mail,
// password, sessions) and the page that confirms a new address with the
// link's token.
import './common.js';
import { api, bindForm, toast } from './api.js';

bindForm(document.getElementById('name-form'), async (f) => {
  if (!f.name.trim()) throw new Error('Enter your name.');
  const u = await api('PATCH', '/api/v1/me', { name: f.name });
  for (const n of document.querySelectorAll('.account-name')) n.textContent = u.name;
  toast('Name saved.');
});

const emailForm = document.getElementById('email-form');
bindForm(emailForm, async (f) => {
  if (!f.email) throw new Error('Enter the new address.');
  if (emailForm.dataset.password === 'true' && !f.current_password) throw new Error('Enter your current password.');
  const res = await api('POST', '/api/v1/me/email', { email: f.email, current_password: f.current_password || '' });
  const sent = document.getElementById('email-sent');
  sent.textContent = res.message;
  sent.hidden = false;
  emailForm.reset();
  sent.focus();
});

const passwordForm = document.getElementById('password-form');
bindForm(passwordForm, async (f) => {
  if (!f.current_password) throw new Error('Enter your current password.');
  if (!f.new_password) throw new Error('Enter a new password.');
  await api('PUT', '/api/v1/me/password', {
    current_password: f.current_password, new_password: f.new_password, end_api_tokens: f.end_api_tokens === 'true',
  });
  passwordForm.reset();
  for (const li of document.querySelectorAll('#session-list li')) {
    if (li.querySelector('[data-end-session]')) li.remove();
  }
  toast('Password changed. You are logged out everywhere else.');
});

const sessions = document.getElementById('session-list');
const sessionsStatus = document.getElementById('sessions-status');
sessions?.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('[data-end-session]');
  if (!btn) return;
  btn.disabled = true;
  try {
    await api('DELETE', `/api/v1/me/sessions/${encodeURIComponent(btn.dataset.endSession)}`);
    btn.closest('li').remove();
    sessionsStatus.textContent = 'Session ended.';
  } catch (err) {
    btn.disabled = false;
    toast(err.message, true);
  }
});

const endOthers = document.getElementById('end-other-sessions');
endOthers?.addEventListener('click', async () => {
  endOthers.disabled = true;
  try {
    const res = await api('DELETE', '/api/v1/me/sessions');
    for (const li of sessions.querySelectorAll('li')) {
      if (li.querySelector('[data-end-session]')) li.remove();
    }
    sessionsStatus.textContent = res.ended === 1 ? 'One other session ended.' : `${res.ended} other sessions ended.`;
  } catch (err) {
    toast(err.message, true);
  } finally {
    endOthers.disabled = false;
  }
});

const mailForm = document.getElementById('mail-form');
bindForm(mailForm, async () => {
  const body = {};
  for (const box of mailForm.querySelectorAll('input[type=checkbox]')) body[box.name] = box.checked;
  await api('PUT', '/api/v1/me/mail-preferences', body);
  toast('Mail choices saved.');
});

const confirmForm = document.getElementById('confirm-email-form');
bindForm(confirmForm, async () => {
  const u = await api('POST', '/api/v1/me/email/confirm', { token: confirmForm.dataset.token }, { noRedirect: true });
  const done = document.getElementById('confirm-email-done');
  done.textContent = `Your address is now ${u.email}.`;
  done.hidden = false;
  confirmForm.hidden = true;
  done.focus();
});
