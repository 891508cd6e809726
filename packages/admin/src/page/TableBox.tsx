import type { ReactNode } from 'react';

/**
 * A table's box: it scrolls sideways inside its card on a narrow screen (never the page), and
 * as a focusable, labelled region a keyboard can scroll it too.
 */
export function TableBox({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to be scrolled by keyboard (WCAG 2.1.1).
    <section className="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
