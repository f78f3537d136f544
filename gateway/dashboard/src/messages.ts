import { $ } from './formats.js';

/** A bell (an emoji may have no glyph); decorative, the buttons carry labels. */
export const BELL_SVG =
  '<svg class="bell" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M8 1.5a4 4 0 0 0-4 4v3.2L2.5 11v.5h11V11L12 8.7V5.5a4 4 0 0 0-4-4z' +
  'M6.3 12.5a1.7 1.7 0 0 0 3.4 0z"/></svg>';

/** Polite announcements for screen readers (added, removed, connection changes). */
export function announce(text: string): void {
  const el = $('announcer');
  // A changed text is announced; the same text again needs clearing first.
  el.textContent = '';
  window.setTimeout(() => (el.textContent = text), 50);
}

/** A dismissable error above the table (an alert region: read at once). */
export function showError(message: string): void {
  show('errors', 'error', '!', message);
}

/** A dismissable notice above the table, e.g. a price alert that fired (an alert region too). */
export function showNotice(message: string): void {
  show('notices', 'error notice', BELL_SVG, message);
}

function show(boxId: string, className: string, icon: string, message: string): void {
  const box = $(boxId);
  const item = document.createElement('div');
  item.className = className;
  item.innerHTML =
    `<span class="error-icon" aria-hidden="true">${icon}</span><span class="error-text"></span>` +
    '<button type="button" class="dismiss" aria-label="Dismiss">×</button>';
  item.querySelector('.error-text')!.textContent = message;
  item.querySelector('button')!.addEventListener('click', () => item.remove());
  box.prepend(item);
  while (box.children.length > 3) box.lastElementChild!.remove();
  window.setTimeout(() => item.remove(), 20_000);
}
