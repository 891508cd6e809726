import { type RefObject, useEffect, useRef, useSyncExternalStore } from 'react';

/** A stable callback ref that focuses an element once, when it mounts (instead of `autoFocus`). */
export function focusOnMount(element: HTMLElement | null): void {
  element?.focus();
}

/** Below this width the sidebar becomes a drawer (keep in step with styles.css). */
export const mobileQuery = '(max-width: 759px)';

/** Whether `query` matches, following changes (a rotated phone, a resized window). */
export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (onChange) => {
      const list = window.matchMedia(query);
      list.addEventListener('change', onChange);
      return () => list.removeEventListener('change', onChange);
    },
    () => window.matchMedia(query).matches,
    () => false,
  );
}

/**
 * While `active`: Escape calls `onClose`, and so does a press outside `ref` (and outside any
 * element matching `ignore`, such as the button that toggles it). Escape is taken by the
 * innermost open layer only: the one whose hook was set up last.
 */
export function useDismiss(
  ref: RefObject<HTMLElement | null>,
  active: boolean,
  onClose: (how: 'escape' | 'outside') => void,
  ignore?: string,
): void {
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    if (!active) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      e.preventDefault();
      close.current('escape');
    };
    const onPointer = (e: PointerEvent) => {
      const target = e.target as Element | null;
      if (!target || ref.current?.contains(target)) return;
      if (ignore && target.closest(ignore)) return;
      close.current('outside');
    };
    // Capture on window for keys: the layer set up last (the innermost) sees Escape first.
    layers.push(onKey);
    document.addEventListener('pointerdown', onPointer);
    return () => {
      layers.splice(layers.indexOf(onKey), 1);
      document.removeEventListener('pointerdown', onPointer);
    };
  }, [active, ref, ignore]);
}

/** Open layers' Escape handlers, outermost first; only the last one runs. */
const layers: ((e: KeyboardEvent) => void)[] = [];
if (typeof window !== 'undefined') {
  window.addEventListener('keydown', (e) => layers.at(-1)?.(e));
}

/**
 * Focuses an element once React has committed: `target` is read on the next frames, so a ref's
 * element that a re-render replaces (the header of the room just opened) is the one focused. It
 * tries for a few frames: the room a join opens shows once the rooms list has caught up.
 */
export function focusLater(target: () => HTMLElement | null | undefined, frames = 10): void {
  requestAnimationFrame(() => {
    const element = target();
    if (element?.isConnected) element.focus();
    if (document.activeElement !== element && frames > 1) focusLater(target, frames - 1);
  });
}
