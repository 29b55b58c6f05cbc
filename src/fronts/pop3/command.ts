/**
 * POP3 command lines (RFC 1939, RFC 2449, RFC 5034). Pure.
 *   command = keyword [SP argument] ; keyword is 3-4 letters, case-insensitive
 * The argument is everything after the first space, unchanged: PASS must keep spaces and any
 * other byte a password may contain.
 */
export interface Pop3Command {
  name: string; // upper-cased
  argument: Buffer;
}

export function parsePop3Command(line: Buffer): Pop3Command | undefined {
  const space = line.indexOf(0x20);
  const keyword = (space === -1 ? line : line.subarray(0, space)).toString('latin1');
  if (!/^[A-Za-z]{3,4}$/.test(keyword)) return undefined;
  return { name: keyword.toUpperCase(), argument: space === -1 ? Buffer.alloc(0) : line.subarray(space + 1) };
}

/** Splits an argument into space-separated words (AUTH mechanism [initial-response]). */
export function words(argument: Buffer): string[] {
  return argument.toString('latin1').split(' ').filter((word) => word !== '');
}
