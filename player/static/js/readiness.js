// readiness.js — how much of a lesson published while still being
// prepared is ready to watch, from the lesson JSON's ready_until_ms and
// encoded_ms (docs/api.md, "Processing, playable"). The server computes
// the numbers; the watch page and the upload page put them into words
// here, so that students and teachers read the same figures.
import { clock } from './api.js';

/**
 * readyPart is lesson l's ready part while it is still being prepared:
 * { readyMS, encodedMS, durationMS, fraction (of the timeline, 0–1) }, or
 * null when all of it plays (or the lesson does not say).
 */
export function readyPart(l) {
  const d = l.duration_ms;
  if (!l.playable || l.status !== 'processing' || l.ready_until_ms == null || !d || l.ready_until_ms >= d) return null;
  const readyMS = Math.max(0, l.ready_until_ms);
  return { readyMS, encodedMS: Math.max(readyMS, l.encoded_ms ?? readyMS), durationMS: d, fraction: readyMS / d };
}

/** readySentence says, for a student, how much of lesson l is ready; '' when all of it is. */
export function readySentence(l) {
  const p = readyPart(l);
  if (!p) return '';
  return `Still being prepared: the first ${clock(p.readyMS)} of ${clock(p.durationMS)} is ready to watch. `
    + 'The rest follows while you watch; a part further on may take a few seconds to start.';
}

/**
 * teacherSentence says, for the lesson's teacher, what students can watch
 * of the recording being prepared; '' when they watch another (a previous
 * recording, during a re-upload) or it is ready.
 */
export function teacherSentence(l) {
  if (!l.playable || l.status !== 'processing' || l.ready_until_ms == null) return '';
  const p = readyPart(l);
  if (!p) return 'Students can already watch all of it.';
  return `Students can already watch it: the first ${clock(p.readyMS)} of ${clock(p.durationMS)} is ready, and the rest follows.`;
}
