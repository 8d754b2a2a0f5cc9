// recording_upload.js — the resumable (tus) upload of a lesson's
// recording, shared by the upload page and the LTI deep linking picker.
// Inside an LMS's iframe the session cookie may be blocked: the upload
// then carries the page's launch token in a header, as api.js does.
import { launchToken } from './api.js';

/** fingerprintOf names file's upload to lessonID for resuming. */
export function fingerprintOf(lessonID, file) {
  return ['lectern', lessonID, file.name, file.type, file.size, file.lastModified].join('|');
}

/**
 * isRefusal says whether a status refuses the file: a 4xx, except a
 * conflict or lock (another tab) and a 408 (the network went silent;
 * what arrived is kept), which resume.
 */
export function isRefusal(status) {
  return status >= 400 && status < 500 && ![408, 409, 423].includes(status);
}

/**
 * recordingUpload returns a tus upload of file as lessonID's recording,
 * not started; handlers are tus-js-client's onProgress, onSuccess and
 * onError.
 */
export function recordingUpload(file, lessonID, handlers) {
  const headers = {};
  if (launchToken()) headers['X-Lectern-Launch'] = launchToken();
  return new window.tus.Upload(file, {
    endpoint: '/api/v1/uploads',
    chunkSize: 16 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
    headers,
    metadata: { lesson_id: lessonID, filename: file.name, filetype: file.type || 'application/octet-stream' },
    fingerprint: async (f) => fingerprintOf(lessonID, f),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onShouldRetry: (err) => !isRefusal(err.originalResponse ? err.originalResponse.getStatus() : 0),
    ...handlers,
  });
}

/** uploadErrorMessage is what to tell the user about a failed upload. */
export function uploadErrorMessage(err) {
  const body = err.originalResponse?.getBody?.();
  let msg = 'The upload stopped. Check your connection and press Resume.';
  try { msg = JSON.parse(body).error.message || msg; } catch { /* not JSON */ }
  return msg;
}
