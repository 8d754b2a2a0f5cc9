// watch.js — the watch page: waits while the lesson is processing, then
// starts the player at ?t= or offers to resume, records progress, and
// opens the conversation beside the video.
import './common.js';
import { api, pageData, parseClock } from './api.js';
import { Player } from './player.js';
import { Progress } from './progress.js';
import { Conversation } from './conversation.js';

const data = pageData();

/** deepLink reads ?t= as seconds ("90"), a clock ("1:30") or "1m30s", in ms. */
function deepLink() {
  const t = new URLSearchParams(location.search).get('t');
  if (!t) return null;
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s?)?$/.exec(t);
  if (m && m[0]) return Math.round(((Number(m[1] || 0) * 60 + Number(m[2] || 0)) * 60 + Number(m[3] || 0)) * 1000);
  const ms = parseClock(t);
  return Number.isNaN(ms) ? null : ms;
}

const STATUS = {
  awaiting_upload: ['Not uploaded yet', 'The teacher has not uploaded the recording of this lesson yet.'],
  queued: ['Getting ready', 'The recording is waiting to be processed. This page updates by itself.'],
  processing: ['Processing the recording', 'The lesson is being prepared for streaming. This page updates by itself.'],
  failed: ['This lesson could not be processed', 'The recording could not be converted.'],
};

/** waitUntilReady shows the lesson's status until it can be played. */
async function waitUntilReady(player) {
  let status = data.status;
  let lesson = null;
  while (status !== 'ready') {
    const [title, detail] = STATUS[status] || ['Unavailable', ''];
    let d = detail;
    if (status === 'failed' && lesson?.transcode?.error) d = `${detail} ${lesson.transcode.error}`;
    const pct = status === 'processing' ? lesson?.transcode?.percent || 0 : null;
    player.showMessage(title, pct !== null ? `${d} ${Math.round(pct)}% done.` : d, status === 'failed', pct);
    await new Promise((r) => setTimeout(r, status === 'failed' ? 15000 : 3000));
    try {
      lesson = await api('GET', `/api/v1/lessons/${encodeURIComponent(data.lesson_id)}`);
      status = lesson.status;
    } catch { /* keep waiting */ }
  }
}

async function main() {
  const player = new Player({ lessonID: data.lesson_id, userID: data.user_id });
  window.lecternPlayer = player;
  const conversation = new Conversation(player, data);
  conversation.start();
  if (data.status !== 'ready') await waitUntilReady(player);
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
  if (link === null) {
    let offered = false;
    const offer = () => { if (!offered) { offered = true; progress.offerResume(); } };
    if (player.duration) offer(); else player.onReady.push(offer);
  }
  conversation.playerReady();
}

main();
