/** A Redis Stream entry id: `<milliseconds>-<sequence>`. */
const streamIdPattern = /^(\d{1,16})-(\d{1,20})$/;

/** The logged id an event id resumes after: ephemeral ids are `<logged id>~<suffix>`. */
export function baseId(eventId: string): string {
  const tilde = eventId.indexOf('~');
  return tilde === -1 ? eventId : eventId.slice(0, tilde);
}

/** Whether `id` is a stream entry id Redis accepts. */
export function isStreamId(id: string): boolean {
  const match = streamIdPattern.exec(id);
  return match !== null && BigInt(match[2]!) < 2n ** 64n;
}

/** Orders two stream ids (negative, zero, positive), as Redis does. */
export function compareIds(a: string, b: string): number {
  if (a === b) return 0;
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  const byMs = compareDigits(aMs, bMs);
  return byMs !== 0 ? byMs : compareDigits(aSeq, bSeq);
}

/** Compares unsigned decimal strings without losing precision past 2^53. */
function compareDigits(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
