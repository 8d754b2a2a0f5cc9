// publish.js — the lesson page's Publishing card: the lesson's state
// (draft, scheduled for a time, published), Publish now, Back to draft,
// Schedule and Watch by. Times are given in the course's time zone (the
// datetime-local inputs send local times, which the server reads in that
// zone) and shown in it, and in the viewer's own when that differs.
import { api, bindForm, el, toast } from './api.js';

/** when formats an instant in a time zone: "Tue 12 Jan 2027, 17:00". */
export function when(iso, timeZone) {
  return new Intl.DateTimeFormat('en-GB', {
    weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone,
  }).format(new Date(iso));
}

/** localInput is an instant as a datetime-local value in timeZone. */
function localInput(iso, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone,
  }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}

/** inZones says a time in the course's zone, and in mine when it differs. */
function inZones(iso, zone) {
  const mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const text = `${when(iso, zone)} (${zone})`;
  return mine === zone ? text : `${text}, ${when(iso, mine)} your time`;
}

export function initPublishing(lesson) {
  const card = document.getElementById('publish-card');
  if (!card || !lesson?.publication) return;
  const state = document.getElementById('publish-state');
  let current = lesson;

  function show(l) {
    current = l;
    const p = l.publication;
    const zone = p.time_zone || 'UTC';
    card.querySelectorAll('[data-zone]').forEach((s) => { s.textContent = `(${zone})`; });
    card.dataset.state = p.state;
    const words = {
      draft: 'Draft: students cannot see this lesson.',
      scheduled: `Scheduled for ${p.publish_at && inZones(p.publish_at, zone)}: students see it from then.`,
      published: 'Published: students see this lesson.',
    }[p.state];
    state.replaceChildren(el('span', { class: `badge badge-${p.state}` }, { draft: 'Draft', scheduled: 'Scheduled', published: 'Published' }[p.state]), ' ', words);
    document.getElementById('unpublish').hidden = p.state === 'draft';
    document.getElementById('publish-now').hidden = p.state === 'published';
    if (p.state === 'scheduled') document.getElementById('publish-at').value = localInput(p.publish_at, zone);
    document.getElementById('watch-by').value = l.watch_by ? localInput(l.watch_by, zone) : '';
    document.getElementById('watch-by-clear').hidden = !l.watch_by;
  }

  async function change(body, message) {
    show(await api('PATCH', `/api/v1/lessons/${encodeURIComponent(current.id)}`, body));
    toast(message);
  }
  const run = (fn) => async () => { try { await fn(); } catch (err) { toast(err.message, true); } };

  document.getElementById('publish-now').addEventListener('click', run(() => change({ publish_at: 'now' }, 'Published: students see the lesson now.')));
  document.getElementById('unpublish').addEventListener('click', run(() => change({ publish_at: null }, 'Back to draft: students no longer see the lesson.')));
  document.getElementById('watch-by-clear').addEventListener('click', run(() => change({ watch_by: null }, 'Watch-by date cleared.')));
  bindForm(document.getElementById('schedule-form'), async (f) => {
    if (!f.publish_at) throw new Error('Choose the date and time at which students see the lesson.');
    await change({ publish_at: f.publish_at }, 'Scheduled.');
  });
  bindForm(document.getElementById('watch-by-form'), async (f) => {
    if (!f.watch_by) throw new Error('Choose a date and time, or Clear.');
    await change({ watch_by: f.watch_by }, 'Watch-by date saved.');
  });
  show(lesson);
}
