// jobstate.js — a lesson's transcode state in words. The upload, course,
// watch and admin jobs pages all describe a job through describeJob, so
// they never disagree about what is happening to a recording.
//
// The server's job JSON (lesson.transcode, or an admin job) carries state,
// percent, try, max_tries, queue_position, retry_at, error, failure, advice
// and retryable; see docs/api.md.

/** ACTIVE are the states in which a job still changes by itself. */
const ACTIVE = new Set(['queued', 'running', 'retrying']);

/** isActive reports whether job t is queued, running or waiting to retry. */
export function isActive(t) {
  return !!t && ACTIVE.has(t.state);
}

/** ordinal writes 1 as "1st", 2 as "2nd", 11 as "11th", 23 as "23rd". */
export function ordinal(n) {
  const v = n % 100;
  if (v >= 11 && v <= 13) return `${n}th`;
  return n + ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th');
}

/** inLine says where a queued job waits: "next in line", "3rd in line", or "". */
export function inLine(position) {
  if (!position || position < 1) return '';
  return position === 1 ? 'next in line' : `${ordinal(position)} in line`;
}

/** sentence ends text with one full stop. */
export function sentence(text) {
  const s = String(text || '').trim();
  if (!s) return '';
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

/** whole is a percentage rounded down, so 100% only shows when it is done. */
function whole(pct) {
  return Math.max(0, Math.min(100, Math.floor(Number(pct) || 0)));
}

/** timeOfDay is the local wall-clock time of an RFC 3339 time ("10:42"). */
export function timeOfDay(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Date(t).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/**
 * retryWhen says when a retry starts: "at 10:42 (in about 30 s)", or
 * "at 10:42" without the countdown, or "now".
 */
export function retryWhen(iso, now = Date.now(), countdown = true) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'soon';
  const s = Math.round((t - now) / 1000);
  if (s <= 2) return 'now';
  if (!countdown) return `at ${timeOfDay(iso)}`;
  let about;
  if (s < 60) about = `${Math.max(5, Math.round(s / 5) * 5)} s`;
  else if (s < 3600) about = `${Math.round(s / 60)} min`;
  else about = `${Math.round(s / 360) / 10} h`;
  return `at ${timeOfDay(iso)} (in about ${about})`;
}

/** failedTitle names how a job failed, from its failure kind. */
function failedTitle(t) {
  switch (t.failure) {
    case 'refused': return 'This file cannot be used';
    case 'exhausted': return t.try > 1 ? `Processing failed ${t.try} times` : 'Processing failed';
    case 'timeout': return 'Processing took too long';
    case 'setup': return 'The server could not process it';
    case 'canceled': return 'Processing was canceled';
    default: return 'Processing failed';
  }
}

/** FAILURE_KIND labels a failure kind for the admin jobs page. */
export const FAILURE_KIND = {
  refused: 'File refused',
  setup: 'Server problem',
  exhausted: 'Out of tries',
  timeout: 'Timed out',
  canceled: 'Canceled',
};

/**
 * describeJob puts transcode job t (null before any upload) into words:
 *   state   the job's state, or "awaiting_upload" without a job
 *   badge   a one- or two-word label ("Converting")
 *   short   one compact line for lists ("Converting 45%")
 *   title   the headline for a card ("Converting for streaming — 45%")
 *   detail  what happened, in a sentence or two (may be "")
 *   advice  what to do next, from the server (may be "")
 *   percent the progress bar's value, or null when no bar belongs
 *   active  whether the job still changes by itself (poll while true)
 *   key     changes when the news is worth announcing to a screen reader
 * A retry's time comes with a countdown ("in about 30 s") unless
 * countdown is false, for text that is not redrawn every few seconds.
 */
export function describeJob(t, { now = Date.now(), countdown = true } = {}) {
  if (!t) {
    return {
      state: 'awaiting_upload', badge: 'Awaiting upload', short: 'No recording yet',
      title: 'No recording yet',
      detail: 'Once the upload finishes, the recording is converted for streaming in several qualities.',
      advice: '', percent: null, active: false, key: 'awaiting_upload',
    };
  }
  const d = { state: t.state, advice: t.advice || '', percent: null, active: isActive(t), key: `${t.state}:${t.try || 0}` };
  const tries = t.max_tries > 1 ? ` of ${t.max_tries}` : '';
  switch (t.state) {
    case 'queued': {
      const line = inLine(t.queue_position);
      return { ...d, badge: 'Queued', short: line ? `Queued, ${line}` : 'Queued',
        title: line ? `Queued — ${line}` : 'Queued — waiting for a worker',
        detail: 'Converting starts as soon as a worker is free. This page updates by itself.' };
    }
    case 'running': {
      const pct = whole(t.percent);
      return { ...d, badge: 'Converting', short: `Converting ${pct}%`, percent: pct,
        title: `Converting for streaming — ${pct}%`,
        detail: t.try > 1 ? `Try ${t.try}${tries}.` : '' };
    }
    case 'retrying': {
      const failedTry = Math.max(1, (t.try || 2) - 1);
      const why = t.error ? `: ${sentence(t.error)}` : '.';
      const when = retryWhen(t.retry_at, now, countdown);
      return { ...d, badge: 'Retrying', short: `Retrying (try ${t.try || failedTry + 1}${tries})`,
        title: 'Waiting to try again',
        detail: `Try ${failedTry}${tries} failed${why} Trying again ${when}.` };
    }
    case 'failed':
      return { ...d, badge: 'Failed', short: t.error ? `Failed: ${t.error}` : 'Failed',
        title: failedTitle(t), detail: sentence(t.error) };
    case 'canceled':
      return { ...d, badge: 'Canceled', short: t.error ? `Canceled: ${t.error}` : 'Canceled',
        title: 'Processing was canceled', detail: sentence(t.error) };
    case 'succeeded':
      return { ...d, badge: 'Ready', short: 'Ready', percent: 100, title: 'Ready. Students can watch it now.', detail: '' };
    default:
      return { ...d, badge: 'Unknown', short: String(t.state), title: String(t.state), detail: '' };
  }
}
