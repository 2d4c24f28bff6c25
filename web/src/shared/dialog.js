// A modal dialog on the native <dialog> element (showModal: the page behind
// is inert, focus is trapped, Escape is a "cancel"). Focus moves into the
// dialog on open and back to the element that opened it on close.
import { useEffect, useId, useLayoutEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

const FOCUSABLE =
  'button:not(:disabled), [href], input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex="-1"])';

function focusable(el) {
  return el && el.isConnected && !el.disabled && !el.closest('[inert]') && typeof el.focus === 'function';
}

// Puts focus back after a dialog: on `preferred` (or what had focus when the
// dialog opened) when it still exists and can take focus, else on the page's
// [data-focus-fallback] element.
export function restoreFocus(preferred) {
  setTimeout(() => {
    if (document.querySelector('dialog[open]')) return; // another dialog took over
    const target = typeof preferred === 'function' ? preferred() : preferred;
    if (focusable(target)) {
      target.focus();
      return;
    }
    document.querySelector('[data-focus-fallback]')?.focus();
  }, 0);
}

// props: title, onClose, children, returnFocus (element or function giving
// one; default: what had focus on open), describedBy (an id), className.
export function Modal({ title, onClose, children, returnFocus, describedBy, className = '' }) {
  const ref = useRef(null);
  const titleId = useId();
  const closing = useRef(false);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  useLayoutEffect(() => {
    const dialog = ref.current;
    const opener = returnFocus ?? document.activeElement;
    if (!dialog.open) dialog.showModal();
    const first =
      dialog.querySelector('[data-autofocus]') ||
      dialog.querySelector('.modal-body').querySelector(FOCUSABLE) ||
      dialog.querySelector(FOCUSABLE);
    first?.focus();
    return () => {
      closing.current = true;
      if (dialog.open) dialog.close();
      restoreFocus(opener);
    };
  }, []);

  // Escape: the browser fires "cancel"; close through the owner so that its
  // state (and any secret it holds) goes away. Should the browser close the
  // dialog anyway (a repeated Escape), "close" does the same.
  useEffect(() => {
    const dialog = ref.current;
    const cancel = (e) => {
      e.preventDefault();
      onCloseRef.current();
    };
    const closed = () => {
      if (!closing.current) onCloseRef.current();
    };
    dialog.addEventListener('cancel', cancel);
    dialog.addEventListener('close', closed);
    return () => {
      dialog.removeEventListener('cancel', cancel);
      dialog.removeEventListener('close', closed);
    };
  }, []);

  return html`
    <dialog ref=${ref} class=${`modal ${className}`} aria-labelledby=${titleId} aria-describedby=${describedBy} aria-modal="true">
      <div class="modal-head">
        <h2 id=${titleId}>${title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick=${() => onCloseRef.current()}>×</button>
      </div>
      <div class="modal-body">${children}</div>
    </dialog>
  `;
}
