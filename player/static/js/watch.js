// watch.js — the watch page: while the lesson has nothing playable it
// shows a "coming soon" panel without controls (with the processing state,
// to teachers) and checks now and then; once playable it starts the player
// at ?t= (or #chapter-<n>) or offers to resume, records progress, and opens
// the conversation and the transcript beside the video.
import './common.js';
import { api, pageData, parseClock } from './api.js';
import { Player } from './player.js';
import { Progress } from './progress.js';
import { Conversation } from './conversation.js';
import { Chapters, chapterFromHash } from './chapters.js';
import { Transcript } from './transcript.js';
import { describeJob, isActive, sentence } from './jobstate.js';
import { readyPart, readySentence } from './readiness.js';

const data = pageData();

/**
 * deepLink reads #chapter-<n> as the start of chapter n, else ?t= as
 * seconds ("90"), a clock ("1:30") or "1m30s", in ms.
 */
function deepLink() {
  const chapter = chapterFromHash(location.hash, data.lesson.chapters || []);
  if (chapter !== null) return chapter;
  const t = new URLSearchParams(location.search).get('t');
  if (!t) return null;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(t);
  if (m && m[0]) return Math.round(((Number(m[1] || 0) * 60 + Number(m[2] || 0)) * 60 + Number(m[3] || 0)) * 1000);
  const ms = parseClock(t);
  return Number.isNaN(ms) ? null : ms;
}

const $ = (id) => document.getElementById(id);

/** sleep waits ms milliseconds. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * showUnavailable fills the "coming soon" panel for lesson l. Students
 * learn only that it is coming; teachers see its processing state and a
 * link to the upload page. The panel's text changes only when the news
 * does, so its live region does not repeat itself on every poll.
 */
let shownKey = '';
function showUnavailable(l) {
  const root = $('player');
  root.dataset.state = 'unavailable';
  $('controls').hidden = true;
  $('big-play').hidden = true;
  $('player-message').hidden = false;
  let title = 'This lesson is not ready yet — coming soon';
  let detail = 'Its recording is still being prepared. This page starts the lesson by itself as soon as it is ready.';
  let advice = '';
  let pct = null;
  let key = 'student';
  if (data.teaching) {
    const d = describeJob(l.transcode, { countdown: false });
    title = 'Not ready yet: students see “coming soon”';
    // The bar shows the percentage, so the words need not change with it.
    detail = [sentence(d.state === 'running' ? 'Converting for streaming' : d.title), d.detail].filter(Boolean).join(' ');
    ({ advice } = d);
    pct = d.state === 'running' ? d.percent : null;
    key = `${d.key}|${detail}|${advice}`;
  }
  const bar = $('player-message-bar');
  bar.hidden = pct === null;
  if (pct !== null) bar.querySelector('.bar').style.width = `${pct}%`;
  if (key === shownKey) return;
  shownKey = key;
  $('player-message-title').textContent = title;
  $('player-message-detail').textContent = detail;
  $('player-message-advice').textContent = advice;
  $('player-message-advice').hidden = !advice;
}

/**
 * waitUntilPlayable shows the panel until the lesson has something to
 * play, asking again every 3 s while a teacher watches a job that moves
 * and every 15 s otherwise.
 */
async function waitUntilPlayable() {
  let l = data.lesson;
  for (;;) {
    showUnavailable(l);
    await sleep(data.teaching && isActive(l.transcode) ? 3000 : 15000);
    try {
      l = await api('GET', `/api/v1/lessons/${encodeURIComponent(data.lesson_id)}`);
    } catch { continue; /* keep waiting */ }
    if (l.playable) return l;
  }
}

/**
 * showReadiness shows how much of lesson l is ready to watch while it is
 * still being prepared: in words under the player (the seek slider points
 * to them) and as a tinted range on the timeline; nothing once all of it is.
 */
function showReadiness(l) {
  const p = readyPart(l);
  const text = readySentence(l);
  const note = $('ready-note');
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !text;
  $('timeline-ready').hidden = !p;
  $('timeline-ready').style.width = p ? `${p.fraction * 100}%` : '0';
  if (p) $('timeline').setAttribute('aria-describedby', 'ready-note');
  else $('timeline').removeAttribute('aria-describedby');
  return p !== null;
}

/**
 * followReadiness keeps showReadiness up to date, asking for the lesson
 * every 5 s until all of it is ready.
 */
async function followReadiness(l) {
  while (showReadiness(l)) {
    await sleep(5000);
    try {
      l = await api('GET', `/api/v1/lessons/${encodeURIComponent(data.lesson_id)}`);
    } catch { /* ask again */ }
  }
}

/** setComposing turns the ask and note buttons on or off. */
function setComposing(on) {
  for (const id of ['ask-btn', 'note-btn']) $(id).disabled = !on;
}

async function main() {
  const player = new Player({ lessonID: data.lesson_id, userID: data.user_id, preferences: data.preferences });
  window.lecternPlayer = player;
  const conversation = new Conversation(player, data);
  conversation.start();
  let lesson = data.lesson;
  if (!lesson.playable) {
    // Nothing to ask about yet: a question needs a moment of the video.
    setComposing(false);
    lesson = await waitUntilPlayable();
    setComposing(true);
    $('player-message-advice').hidden = true;
    $('player-message-link')?.setAttribute('hidden', '');
    $('controls').hidden = false;
  }
  followReadiness(lesson);
  player.showMessage('Loading…', '');
  const link = deepLink();
  const progress = new Progress(player, data.lesson_id);
  try {
    await player.load(link ? link / 1000 : 0);
  } catch (err) {
    player.showMessage('The lesson cannot be played', err.message, true);
    return;
  }
  progress.start();
  new Chapters(player, data.lesson_id, data.lesson.chapters, data.lesson.duration_ms).start();
  new Transcript(player, data.lesson_id).start();
  if (link === null) {
    let offered = false;
    const offer = () => { if (!offered) { offered = true; progress.offerResume(); } };
    if (player.duration) offer(); else player.onReady.push(offer);
  }
  conversation.playerReady();
}

main();

// At the end of the video, the course's next lesson is offered over the
// player (its card is in the page only when there is one); playing again
// or seeking back puts it away.
{
  const video = $('video');
  const card = $('next-card');
  if (video && card) {
    video.addEventListener('ended', () => { card.hidden = false; });
    const hide = () => { if (!video.ended) card.hidden = true; };
    video.addEventListener('play', hide);
    video.addEventListener('seeked', hide);
  }
}

// The watch-by date, in the viewer's own time zone: "Watch by Tue 12 Jan, 17:00".
const watchBy = document.querySelector('#watch-by time');
if (watchBy) {
  watchBy.textContent = `Watch by ${new Intl.DateTimeFormat('en-GB', {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  }).format(new Date(watchBy.getAttribute('datetime')))}`;
}
