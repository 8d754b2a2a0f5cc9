// api.js — the one way pages talk to the server: same-origin fetches with
// the session cookie, JSON in and out, and the API's error shape turned
// into an Error whose message is safe to show.

/** ApiError carries the API's error code and HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * launchToken is the session token of a page opened by an LTI launch
 * inside an LMS, where the browser may block Lectern's cookie; api sends
 * it in a header instead (never in a URL).
 */
export function launchToken() {
  return document.querySelector('meta[name="lectern-launch"]')?.content || '';
}

/**
 * api sends a request and returns the decoded JSON body (null for 204).
 * A 401 on a page sends the user to the login page (not inside an LMS,
 * where the LMS is the way back in).
 */
export async function api(method, path, body, opts = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (launchToken()) init.headers['X-Lectern-Launch'] = launchToken();
  if (opts.keepalive) init.keepalive = true;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (opts.signal) init.signal = opts.signal;
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.');
  }
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    if (resp.status === 401 && !opts.noRedirect && !launchToken()) {
      location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    }
    throw new ApiError(resp.status, e.code || 'internal', e.message || `Request failed (${resp.status})`);
  }
  return data;
}

/** pageData returns the JSON the server embedded for this page's script. */
export function pageData() {
  const el = document.getElementById('page-data');
  if (!el) return {};
  try { return JSON.parse(el.textContent); } catch { return {}; }
}

/** toast shows a short message in the page's live region. */
export function toast(message, isError = false) {
  const el = document.querySelector('.toast');
  if (!el) return;
  el.textContent = message;
  el.classList.toggle('is-error', isError);
  el.hidden = false;
  clearTimeout(el._timer);
  el._timer = setTimeout(() => { el.hidden = true; }, 4000);
}

/**
 * announce says text in the live region node. The region is emptied first
 * and filled a moment later, so that the same words twice are read twice.
 */
export function announce(node, text) {
  if (!node) return;
  node.textContent = '';
  clearTimeout(node._announce);
  node._announce = setTimeout(() => { node.textContent = text; }, 50);
}

/** clock formats milliseconds as m:ss or h:mm:ss. */
export function clock(ms) {
  const s = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(sec)}` : `${m}:${pad(sec)}`;
}

/** parseClock reads "m:ss", "h:mm:ss" or plain seconds into milliseconds, or NaN. */
export function parseClock(text) {
  const parts = String(text).trim().split(':');
  if (parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return NaN;
  return Math.round(parts.reduce((acc, p) => acc * 60 + Number(p), 0) * 1000);
}

/** el builds an element; children are nodes or strings (set as text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    // CSSOM, not a style attribute: the Content-Security-Policy blocks those.
    else if (k === 'style') node.style.cssText = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** relTime says how long ago an RFC 3339 time was. */
export function relTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return new Date(t).toLocaleDateString();
}

/**
 * bindForm submits a form's fields as JSON through fn, showing the API's
 * message in the form's error slot and disabling the submit button while
 * the request runs.
 */
export function bindForm(form, fn) {
  if (!form) return;
  const errBox = form.querySelector('.form-error');
  const button = form.querySelector('[type=submit]');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (errBox) errBox.hidden = true;
    if (button) button.disabled = true;
    try {
      await fn(Object.fromEntries(new FormData(form)));
    } catch (err) {
      if (errBox) {
        errBox.textContent = err.message;
        errBox.hidden = false;
      } else {
        toast(err.message, true);
      }
    } finally {
      if (button) button.disabled = false;
    }
  });
}
