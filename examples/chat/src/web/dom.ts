/** A stable callback ref that focuses an element once, when it mounts (instead of `autoFocus`). */
export function focusOnMount(element: HTMLElement | null): void {
  element?.focus();
}
