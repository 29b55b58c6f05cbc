// POP3 multi-line responses (RFC 1939 3): every line starting with "." gets another "." in
// front, and the response ends with "." on a line of its own. Produced in slices so that a
// message of tens of MiB is sent with backpressure and never copied whole.

const SLICE = 256 * 1024;
const DOT = Buffer.from('.');
const CRLF = Buffer.from('\r\n');

export function* dotStuffed(data: Buffer): Generator<Buffer> {
  for (let start = 0; start < data.length; start += SLICE) {
    const end = Math.min(data.length, start + SLICE);
    const pieces: Buffer[] = [];
    let from = start;
    // a line starts at 0 or right after a LF (bare LF included: clients split on it too)
    if (start === 0 && data[0] === 0x2e) pieces.push(DOT);
    for (let lf = data.indexOf(0x0a, Math.max(0, start - 1)); lf >= 0 && lf + 1 < end; lf = data.indexOf(0x0a, lf + 1)) {
      if (lf + 1 < start || data[lf + 1] !== 0x2e) continue;
      pieces.push(data.subarray(from, lf + 1), DOT);
      from = lf + 1;
    }
    pieces.push(data.subarray(from, end));
    yield pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }
  // the terminating line needs the message to end with a line break
  const last = data[data.length - 1];
  yield data.length > 0 && last !== 0x0a ? Buffer.from('\r\n.\r\n') : Buffer.concat([DOT, CRLF]);
}
