// lti.js — the pages of an LTI launch. The login page stores the state
// and nonce in the LMS's window with LTI client-side postMessage storage
// (when the LMS offers it) before going on to the LMS; the verify page
// reads the state back from there and posts the launch again with it.
// Messages go only to the LMS's origin, and only its answers count.
import './common.js';

const TIMEOUT_MS = 3000;

/** storageFrame is the window that keeps the LMS's platform storage. */
function storageFrame(target) {
  if (!target || window.parent === window) return null;
  if (target === '_parent') return window.parent;
  try { return window.parent.frames[target] || null; } catch { return null; }
}

/** ask sends one storage message and resolves with the LMS's answer (or null). */
function ask(frame, origin, message) {
  return new Promise((resolve) => {
    const id = crypto.randomUUID();
    const timer = setTimeout(() => { window.removeEventListener('message', onMessage); resolve(null); }, TIMEOUT_MS);
    function onMessage(event) {
      const d = event.data;
      if (event.origin !== origin || !d || typeof d !== 'object' || d.message_id !== id) return;
      if (d.subject !== `${message.subject}.response`) return;
      clearTimeout(timer);
      window.removeEventListener('message', onMessage);
      resolve(d.error ? null : d);
    }
    window.addEventListener('message', onMessage);
    frame.postMessage({ ...message, message_id: id }, origin);
  });
}

async function login(box) {
  const form = document.getElementById('lti-auth');
  const frame = storageFrame(box.dataset.storageTarget);
  if (frame) {
    const origin = box.dataset.platformOrigin;
    await Promise.all([
      ask(frame, origin, { subject: 'lti.put_data', key: `state_${box.dataset.state}`, value: box.dataset.state }),
      ask(frame, origin, { subject: 'lti.put_data', key: `nonce_${box.dataset.nonce}`, value: box.dataset.nonce }),
    ]);
  }
  form.submit();
}

async function verify(box) {
  const form = document.getElementById('lti-launch');
  const frame = storageFrame(box.dataset.storageTarget);
  if (frame) {
    const answer = await ask(frame, box.dataset.platformOrigin, { subject: 'lti.get_data', key: `state_${box.dataset.state}` });
    if (answer && typeof answer.value === 'string') form.elements.lti_storage_state.value = answer.value;
  }
  form.submit();
}

const loginBox = document.getElementById('lti-login');
const verifyBox = document.getElementById('lti-verify');
if (loginBox) login(loginBox);
if (verifyBox) verify(verifyBox);

// The deep linking answer goes back to the LMS at once.
const returnForm = document.getElementById('lti-deep-link-return');
if (returnForm) returnForm.submit();
