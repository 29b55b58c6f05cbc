// IMAP command syntax: turns the text and literal segments of one command into values
// (atoms, strings, parenthesised lists). Strings are latin1 so that every byte maps to one
// character and 8-bit data (UTF-8 search terms, message bytes) survives unchanged.

export type ImapValue =
  | { type: 'atom'; value: string }
  /** `bytes` is set for literals, so APPEND can store them without another copy. */
  | { type: 'string'; value: string; bytes?: Buffer }
  | { type: 'list'; items: ImapValue[] };

export interface ImapCommand {
  tag: string;
  name: string;
  args: ImapValue[];
}

export class ImapSyntaxError extends Error {}

/** `segments` alternates command text (without literal markers) and literal bytes. */
export function parseCommand(segments: (string | Buffer)[]): ImapCommand {
  const values = new Tokenizer(segments).values();
  const [tag, name, ...args] = values;
  if (tag?.type !== 'atom' || !/^[\x21-\x7e]+$/.test(tag.value) || tag.value.includes('+')) throw new ImapSyntaxError('bad tag');
  if (name?.type !== 'atom') throw new ImapSyntaxError('missing command');
  return { tag: tag.value, name: name.value.toUpperCase(), args };
}

/** The tag of a line, for answering commands that could not be parsed. */
export function tagOf(text: string): string | undefined {
  const match = /^([\x21-\x7e]+?) /.exec(text);
  return match?.[1] && !/[(){"%*+\\]/.test(match[1]) ? match[1] : undefined;
}

class Tokenizer {
  #segment = 0;
  #pos = 0;

  constructor(private readonly segments: (string | Buffer)[]) {}

  values(): ImapValue[] {
    const stack: ImapValue[][] = [[]];
    for (;;) {
      this.#skipSpaces();
      const current = this.#current();
      if (current === undefined) break;
      const top = stack[stack.length - 1]!;
      if (Buffer.isBuffer(current)) {
        top.push({ type: 'string', value: current.toString('latin1'), bytes: current });
        this.#segment++;
        this.#pos = 0;
        continue;
      }
      const char = current[this.#pos]!;
      if (char === '(') {
        this.#pos++;
        const list: ImapValue[] = [];
        top.push({ type: 'list', items: list });
        stack.push(list);
      } else if (char === ')') {
        this.#pos++;
        if (stack.length === 1) throw new ImapSyntaxError('unbalanced )');
        stack.pop();
      } else if (char === '"') {
        top.push({ type: 'string', value: this.#quoted(current) });
      } else {
        top.push({ type: 'atom', value: this.#atom(current) });
      }
    }
    if (stack.length !== 1) throw new ImapSyntaxError('unbalanced (');
    return stack[0]!;
  }

  #current(): string | Buffer | undefined {
    for (;;) {
      const segment = this.segments[this.#segment];
      if (segment === undefined) return undefined;
      if (Buffer.isBuffer(segment) || this.#pos < segment.length) return segment;
      this.#segment++;
      this.#pos = 0;
    }
  }

  #skipSpaces(): void {
    const segment = this.segments[this.#segment];
    if (typeof segment !== 'string') return;
    while (segment[this.#pos] === ' ') this.#pos++;
  }

  #quoted(text: string): string {
    let value = '';
    for (let i = this.#pos + 1; i < text.length; i++) {
      const char = text[i]!;
      if (char === '\\' && i + 1 < text.length) value += text[++i];
      else if (char === '"') {
        this.#pos = i + 1;
        return value;
      } else value += char;
    }
    throw new ImapSyntaxError('unterminated quoted string');
  }

  /** An atom; a "[...]" inside it (BODY[HEADER.FIELDS (A B)]) may hold spaces and parens. */
  #atom(text: string): string {
    let i = this.#pos;
    let depth = 0;
    for (; i < text.length; i++) {
      const char = text[i]!;
      if (char === '[') depth++;
      else if (char === ']') depth = Math.max(0, depth - 1);
      else if (depth === 0 && (char === ' ' || char === '(' || char === ')' || char === '"')) break;
    }
    if (depth > 0) throw new ImapSyntaxError('unterminated [');
    const atom = text.slice(this.#pos, i);
    this.#pos = i;
    if (atom.length === 0) throw new ImapSyntaxError('empty atom');
    return atom;
  }
}

export const isAtom = (value: ImapValue | undefined): value is { type: 'atom'; value: string } => value?.type === 'atom';

/** An astring (atom or string) argument, or undefined. */
export function astring(value: ImapValue | undefined): string | undefined {
  return value?.type === 'atom' || value?.type === 'string' ? value.value : undefined;
}
