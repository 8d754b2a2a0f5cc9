// caption_drafts.js — unsaved caption edits kept on this device, in
// localStorage, one draft per lesson and language:
// { cues, version, label, saved_at }. version is the track's version the
// edits started from (0 for a language not saved yet) and label the name
// such a language is to get.

export class Drafts {
  constructor(lessonID) {
    this.prefix = `lectern:caption-draft:${lessonID}:`;
  }

  /** read returns the draft of lang, or null. */
  read(lang) {
    try {
      const d = JSON.parse(localStorage.getItem(this.prefix + lang));
      return d && Array.isArray(d.cues) ? d : null;
    } catch { return null; }
  }

  /** write keeps d as the draft of lang; false when the browser refuses (full, or private). */
  write(lang, d) {
    try {
      localStorage.setItem(this.prefix + lang, JSON.stringify({ ...d, saved_at: new Date().toISOString() }));
      return true;
    } catch { return false; }
  }

  clear(lang) {
    try { localStorage.removeItem(this.prefix + lang); } catch { /* nothing kept */ }
  }

  /** langs lists the languages with a draft, as { lang, label }. */
  langs() {
    const out = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (!k.startsWith(this.prefix)) continue;
        const lang = k.slice(this.prefix.length);
        const d = this.read(lang);
        if (d) out.push({ lang, label: d.label || '' });
      }
    } catch { /* no storage */ }
    return out;
  }
}
