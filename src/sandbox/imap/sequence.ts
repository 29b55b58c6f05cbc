// IMAP sequence sets ("1", "1:3", "2:*", "*", "1,3:5"), for message sequence numbers and
// for UIDs. "*" is the largest number in use, and "n:*" with n beyond it still includes it
// (RFC 3501 6.4.8 / RFC 9051).

export type SequenceSet = Array<[number | '*', number | '*']>;

const NUMBER = /^[1-9]\d{0,9}$/;

export function parseSequenceSet(text: string): SequenceSet | undefined {
  const ranges: SequenceSet = [];
  for (const part of text.split(',')) {
    const bounds = part.split(':');
    if (bounds.length > 2) return undefined;
    const parsed = bounds.map((b) => (b === '*' ? '*' : NUMBER.test(b) ? Number(b) : undefined));
    if (parsed.some((b) => b === undefined)) return undefined;
    const [from, to] = parsed as Array<number | '*'>;
    ranges.push([from!, to ?? from!]);
  }
  return ranges;
}

/** Whether `n` is in the set, given the largest number in use. */
export function inSequenceSet(set: SequenceSet, n: number, largest: number): boolean {
  for (const [a, b] of set) {
    const x = a === '*' ? largest : a;
    const y = b === '*' ? largest : b;
    if (n >= Math.min(x, y) && n <= Math.max(x, y)) return true;
  }
  return false;
}
