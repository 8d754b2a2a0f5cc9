// copy.js — one-click copy buttons. A button with data-copy="ID" copies
// the element with that id: a link's full address, or any other element's
// text. It uses the Clipboard API and falls back on copying from a
// selected text area; when neither works, it selects the element's text
// for the person to copy by hand.
import { toast } from './api.js';

/** copyText puts text on the clipboard; it resolves to whether it could. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* refused: try the old way */ }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'copy-buffer';
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand('copy'); } catch { ok = false; }
  area.remove();
  return ok;
}

/** selectText selects what an element shows, for copying by hand. */
function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}

for (const btn of document.querySelectorAll('[data-copy]')) {
  const target = document.getElementById(btn.dataset.copy);
  if (!target) continue;
  // A link shows its full address: that is what people will share.
  if (target instanceof HTMLAnchorElement) target.textContent = target.href;
  const label = btn.textContent;
  btn.addEventListener('click', async () => {
    const text = target instanceof HTMLAnchorElement ? target.href : target.textContent.trim();
    if (await copyText(text)) {
      btn.textContent = 'Copied';
      toast(btn.dataset.copied || 'Copied.');
      clearTimeout(btn._timer);
      btn._timer = setTimeout(() => { btn.textContent = label; }, 2000);
    } else {
      selectText(target);
      toast('Copying is blocked here: the text is selected, press Ctrl+C (⌘C on a Mac) to copy it.', true);
    }
  });
}
