// caption_asr.js — the caption editor's line about the lesson's automatic
// captions. While speech recognition is queued or running, it asks the
// caption list again every few seconds and shows the server's summary
// (in a role="status" line, so screen readers hear the change), until
// recognition is done, skipped or failed; the tracks each answer lists go
// to onTracks, so that the draft the recognizer made appears at once.
import { api, ApiError } from './api.js';

const POLL_MS = 3000;

const busy = (asr) => asr?.state === 'queued' || asr?.state === 'running';

/**
 * watchASR follows the automatic captions asr (the page's, null for none)
 * in box from url (the lesson's caption list), while they are in progress.
 */
export function watchASR(box, url, asr, onTracks) {
  if (!box || !busy(asr)) return;
  const poll = async () => {
    let res;
    try {
      // Never off to the login page from here: unsaved cues may be open.
      res = await api('GET', url, undefined, { noRedirect: true });
    } catch (err) {
      // The lesson or the teacher's access is gone: asking again will not
      // bring it back. A network or server failure may pass.
      const gone = err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
      if (!gone) setTimeout(poll, POLL_MS);
      return;
    }
    onTracks(res.captions || []);
    const now = res.asr;
    if (!now) { box.hidden = true; return; }
    if (box.textContent !== now.summary) box.textContent = now.summary;
    box.dataset.state = now.state;
    if (busy(now)) setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}
