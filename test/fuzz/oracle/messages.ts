/**
 * SMTP DATA, the strict way (RFC 5321 section 4.5.2): only CRLF ends a line, a line that is a
 * single "." ends the data, and a leading "." is removed from any other line. What a client
 * sent after DATA thus encodes exactly one message; the relay must deliver exactly that, once,
 * whatever bare CR, bare LF or end-of-data look-alikes it contains (SMTP smuggling). Pure.
 */
const CRLF = Buffer.from('\r\n');

/** The message that DATA content encodes (the content includes its end-of-data line). */
export function decodeData(wire: Buffer): Buffer {
  const lines: Buffer[] = [];
  for (let at = 0; at < wire.length; ) {
    const end = wire.indexOf(CRLF, at);
    if (end === -1) break; // no end of data: not a complete message
    const line = wire.subarray(at, end);
    if (line.length === 1 && line[0] === 0x2e) break;
    lines.push(line[0] === 0x2e ? line.subarray(1) : line, CRLF);
    at = end + 2;
  }
  return Buffer.concat(lines);
}

/** One DATA content sent, and what the proxy answered to its end. */
export interface DataVerdict {
  message: Buffer;
  /** accepted: a 2xx; refused: 4xx/5xx; unknown: the connection ended before the answer. */
  verdict: 'accepted' | 'refused' | 'unknown';
  /** Where it came from, for the report. */
  origin: string;
}

/**
 * Every accepted message arrived exactly once, and nothing else arrived (a message whose
 * answer was never seen may or may not have arrived). Returns the problems found.
 */
export function compareDeliveries(sent: DataVerdict[], delivered: Buffer[]): string[] {
  const remaining = new Map<string, number>();
  for (const message of delivered) remaining.set(key(message), (remaining.get(key(message)) ?? 0) + 1);
  const take = (message: Buffer) => {
    const count = remaining.get(key(message)) ?? 0;
    if (count === 0) return false;
    remaining.set(key(message), count - 1);
    return true;
  };
  const missing = sent.filter((s) => s.verdict === 'accepted' && !take(s.message));
  for (const item of sent.filter((s) => s.verdict === 'unknown')) take(item.message);
  const extra = [...remaining].flatMap(([message, count]) => Array.from({ length: count }, () => Buffer.from(message, 'latin1')));
  const problems: string[] = [];
  for (const item of missing) {
    // A message that arrived changed is found by its first line (X-Fuzz: connection-number).
    const twin = extra.findIndex((m) => firstLine(m) === firstLine(item.message) && firstLine(m).startsWith('X-Fuzz:'));
    if (twin === -1 && item.message.length === 0 && extra.some((m) => m.length <= 2)) {
      const at = extra.findIndex((m) => m.length <= 2);
      problems.push(`${item.origin}: the empty message was accepted and arrived as ${show(extra[at]!)}`);
      extra.splice(at, 1);
    } else if (twin === -1) {
      problems.push(`${item.origin}: accepted with 250 but never delivered: ${show(item.message)}`);
    } else {
      problems.push(`${item.origin}: accepted with 250 and delivered changed: ${difference(item.message, extra[twin]!)}`);
      extra.splice(twin, 1);
    }
  }
  for (const message of extra) problems.push(`delivered but never accepted as such: ${show(message)}`);
  return problems;
}

function firstLine(message: Buffer): string {
  const end = message.indexOf(CRLF);
  return message.subarray(0, end === -1 ? message.length : end).toString('latin1');
}

/** Where two messages first differ, with a little context either side. */
function difference(sent: Buffer, delivered: Buffer): string {
  let at = 0;
  while (at < sent.length && at < delivered.length && sent[at] === delivered[at]) at++;
  const around = (message: Buffer) => show(message.subarray(Math.max(0, at - 24), at + 24));
  return `from byte ${at}: sent …${around(sent)}…, delivered …${around(delivered)}… (${sent.length} and ${delivered.length} bytes)`;
}

function key(message: Buffer): string {
  return message.toString('latin1');
}

function show(message: Buffer): string {
  const text = JSON.stringify(message.toString('latin1'));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
