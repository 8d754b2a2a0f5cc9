// caption_cues.js — what the caption editor does to cues, without the
// page: times written and read as m:ss.mmm, checks with messages for a
// teacher, and split, merge and shift. A cue here is
// { key, id, start_ms, end_ms, text, vtt, settings }: text is what a
// reader sees (plain text, only ever shown as text); vtt is the cue's
// WebVTT text as the server gave it, kept (with its italics) until the
// text is edited, when it becomes null and the text is sent instead.

let nextKey = 1;

/** cueFrom makes an editor cue from the API's JSON cue. */
export function cueFrom(c) {
  return {
    key: `c${nextKey++}`, id: c.id || '', start_ms: c.start_ms, end_ms: c.end_ms,
    text: c.text ?? '', vtt: c.vtt ?? null, settings: c.settings || '',
  };
}

/** newCue makes an empty cue from start to end (ms). */
export function newCue(start, end) {
  return { key: `c${nextKey++}`, id: '', start_ms: start, end_ms: end, text: '', vtt: null, settings: '' };
}

/** formatTime writes ms as m:ss.mmm, or h:mm:ss.mmm from an hour on. */
export function formatTime(ms) {
  const t = Math.max(0, Math.round(ms || 0));
  const h = Math.floor(t / 3600000);
  const m = Math.floor(t / 60000) % 60;
  const s = Math.floor(t / 1000) % 60;
  const frac = String(t % 1000).padStart(3, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}.${frac}` : `${m}:${ss}.${frac}`;
}

/**
 * parseTime reads a time as people write it: "1:05.250", "1:05,25",
 * "0:01:05.250", "65.25" or "1:05", into ms; NaN when it is not one.
 */
export function parseTime(text) {
  const parts = String(text).trim().split(':');
  if (parts.length > 3 || parts[0] === '') return NaN;
  const last = parts.pop();
  const sec = /^(\d+)(?:[.,](\d{1,3}))?$/.exec(last);
  if (!sec || (parts.length && sec[1].length > 2)) return NaN;
  if (parts.some((p) => !/^\d+$/.test(p))) return NaN;
  const seconds = Number(sec[1]);
  const ms = Number((sec[2] || '').padEnd(3, '0'));
  let total = seconds * 1000 + ms;
  if (parts.length) {
    if (seconds >= 60) return NaN;
    const minutes = Number(parts.pop());
    if (parts.length && minutes >= 60) return NaN;
    const hours = parts.length ? Number(parts.pop()) : 0;
    total += (hours * 60 + minutes) * 60000;
  }
  return total;
}

/** timeError says what is wrong with a typed time, or '' when nothing is. */
export function timeError(text) {
  const t = String(text).trim();
  if (!t) return 'Enter a time, like 1:05.250 (minutes, seconds and milliseconds).';
  if (Number.isNaN(parseTime(t))) return `“${t.slice(0, 20)}” is not a time: write it like 1:05.250 (minutes, seconds and milliseconds).`;
  return '';
}

/**
 * cueProblem says what is wrong with the times of cue c (number n), given
 * the video's duration in ms (0 when unknown), or ''.
 */
export function cueProblem(c, n, durationMS) {
  if (c.end_ms <= c.start_ms) {
    return `Cue ${n} ends (${formatTime(c.end_ms)}) before it starts (${formatTime(c.start_ms)}): make the end later than the start.`;
  }
  if (durationMS > 0 && c.start_ms >= durationMS) {
    return `Cue ${n} starts after the end of the video (${formatTime(durationMS)}).`;
  }
  return '';
}

/**
 * splitText cuts a cue's text at caret when it falls inside the text, or
 * else at the space nearest the middle; a single word stays in the first
 * half.
 */
export function splitText(text, caret) {
  if (caret > 0 && caret < text.length) return [text.slice(0, caret).trim(), text.slice(caret).trim()];
  let best = -1;
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i]) && (best < 0 || Math.abs(i - text.length / 2) < Math.abs(best - text.length / 2))) best = i;
  }
  if (best < 0) return [text.trim(), ''];
  return [text.slice(0, best).trim(), text.slice(best + 1).trim()];
}

/**
 * splitCue cuts cue c at atMS when that falls inside it, else in its
 * middle (middle is then true), and its text at caret (see splitText). It
 * returns { first, second, at, middle }, or { error } when the cue is too
 * short to cut.
 */
export function splitCue(c, n, atMS, caret) {
  if (c.end_ms - c.start_ms < 2) return { error: `Cue ${n} is too short to split.` };
  let at = Math.round(atMS);
  const middle = !(at > c.start_ms && at < c.end_ms);
  if (middle) at = c.start_ms + Math.round((c.end_ms - c.start_ms) / 2);
  const [a, b] = splitText(c.text, caret);
  const first = { ...c, end_ms: at, text: a, vtt: null };
  const second = { ...newCue(at, c.end_ms), text: b, settings: c.settings };
  return { first, second, at, middle };
}

/** mergeCues joins cue a with cue b: from the earlier start to the later end, the texts on separate lines. */
export function mergeCues(a, b) {
  const join = (x, y) => [x, y].filter((s) => s && s.trim()).join('\n');
  return {
    ...a,
    start_ms: Math.min(a.start_ms, b.start_ms),
    end_ms: Math.max(a.end_ms, b.end_ms),
    text: join(a.text, b.text),
    // Both unedited: their WebVTT (and italics) is kept.
    vtt: a.vtt !== null && b.vtt !== null ? join(a.vtt, b.vtt) : null,
  };
}

/**
 * shiftCues moves cues from index `from` on by delta ms. It returns
 * { cues }, or { error } when a cue would start before 0:00.
 */
export function shiftCues(cues, from, delta) {
  if (!Number.isInteger(delta) || delta === 0) return { error: 'Enter a number of milliseconds other than 0, like 500.' };
  const moved = cues.slice(from);
  const earliest = Math.min(...moved.map((c) => c.start_ms));
  if (earliest + delta < 0) {
    const i = cues.findIndex((c, j) => j >= from && c.start_ms === earliest);
    return { error: `Cue ${i + 1} would start before 0:00: shift earlier by at most ${earliest} ms.` };
  }
  return {
    cues: cues.map((c, j) => (j < from ? c : { ...c, start_ms: c.start_ms + delta, end_ms: c.end_ms + delta })),
  };
}

/** sameCues reports whether two cue lists say the same thing. */
export function sameCues(a, b) {
  if (a.length !== b.length) return false;
  return a.every((c, i) => c.start_ms === b[i].start_ms && c.end_ms === b[i].end_ms
    && c.text === b[i].text && (c.settings || '') === (b[i].settings || ''));
}

/** saveBody is the caption API's editor JSON for cues. */
export function saveBody(cues) {
  return {
    cues: cues.map((c) => {
      const out = { start_ms: c.start_ms, end_ms: c.end_ms };
      if (c.vtt !== null && c.vtt !== undefined) out.vtt = c.vtt; else out.text = c.text;
      if (c.id) out.id = c.id;
      if (c.settings) out.settings = c.settings;
      return out;
    }),
  };
}

/** plainCues are cues without their editor keys, as drafts keep them. */
export function plainCues(cues) {
  return cues.map(({ key, ...rest }) => rest);
}

/** currentKeys lists the keys of the cues shown at ms. */
export function currentKeys(cues, ms) {
  const keys = new Set();
  for (const c of cues) if (ms >= c.start_ms && ms < c.end_ms) keys.add(c.key);
  return keys;
}
