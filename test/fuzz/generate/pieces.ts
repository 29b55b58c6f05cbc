/**
 * Bytes with their readable form. A fuzz input is built from pieces so that a failing one can
 * be printed the way a person would write it down — `a LOGIN {1+}\r\nx ×2000000` rather than
 * 14 MB of bytes.
 */
export interface Piece {
  bytes: Buffer;
  /** The readable form, made only when a failure is printed (the fuzzer makes gigabytes). */
  show(): string;
}

export const CRLF: Piece = text('\r\n');

/** Text sent as Latin-1 (one byte per character), shown escaped. */
export function text(value: string): Piece {
  return raw(Buffer.from(value, 'latin1'));
}

export function raw(bytes: Buffer): Piece {
  return { bytes, show: () => readable(bytes) };
}

/** Text sent as UTF-8 (non-ASCII passwords, 8-bit headers). */
export function utf8(value: string): Piece {
  return raw(Buffer.from(value, 'utf8'));
}

export function cat(...pieces: Piece[]): Piece {
  if (pieces.length === 1) return pieces[0]!;
  return { bytes: Buffer.concat(pieces.map((p) => p.bytes)), show: () => pieces.map((p) => p.show()).join('') };
}

/** A line: the pieces, then CRLF. */
export function line(...pieces: Piece[]): Piece {
  return cat(...pieces, CRLF);
}

/** `count` copies of a piece, shown once with its count. */
export function repeat(piece: Piece, count: number): Piece {
  if (count <= 3) return cat(...Array.from({ length: count }, () => piece));
  const bytes = Buffer.allocUnsafe(piece.bytes.length * count);
  for (let at = 0; at < bytes.length; at += piece.bytes.length) piece.bytes.copy(bytes, at);
  return { bytes, show: () => `(${piece.show()})×${count}` };
}

/** One byte `count` times (overlong lines), built without a loop. */
export function run(char: string, count: number): Piece {
  const bytes = Buffer.alloc(count, char, 'latin1');
  return { bytes, show: () => readable(bytes) };
}

/**
 * Printable ASCII as is; CR, LF, tab and NUL as \r \n \t \0; other bytes as \xHH; a run of
 * more than 8 equal bytes as `c×n`.
 */
export function readable(bytes: Buffer): string {
  let out = '';
  for (let at = 0; at < bytes.length; ) {
    let end = at + 1;
    while (end < bytes.length && bytes[end] === bytes[at]) end++;
    const shown = byteText(bytes[at]!);
    out += end - at > 8 ? `${shown}×${end - at}` : shown.repeat(end - at);
    at = end;
  }
  return out;
}

function byteText(byte: number): string {
  switch (byte) {
    case 0x0d: return '\\r';
    case 0x0a: return '\\n';
    case 0x09: return '\\t';
    case 0x00: return '\\0';
    case 0x5c: return '\\\\';
  }
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
}
