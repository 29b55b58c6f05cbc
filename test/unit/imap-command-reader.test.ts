import { describe, expect, it } from 'vitest';
import { ImapCommandReader, tokenText, type ImapReaderEvent } from '../../src/fronts/imap/command-reader.js';

function read(...chunks: string[]): ImapReaderEvent[] {
  const reader = new ImapCommandReader({ maxLineBytes: 200, maxLiteralBytes: 64, maxCommandBytes: 1000 });
  const events: ImapReaderEvent[] = [];
  for (const chunk of chunks) {
    reader.push(Buffer.from(chunk, 'utf8'));
    for (let event = reader.next(); event; event = reader.next()) events.push(event);
  }
  return events;
}

function loginArgs(...chunks: string[]): string[] {
  const command = read(...chunks).find((e) => e.type === 'command');
  if (command?.type !== 'command') throw new Error('no command');
  return command.command.args.map(tokenText);
}

describe('IMAP command reader', () => {
  it('reads tag, upper-cased name and atoms', () => {
    expect(read('a1 login alice secret\r\n')).toEqual([
      { type: 'command', command: { tag: 'a1', name: 'LOGIN', args: [{ type: 'atom', value: 'alice' }, { type: 'atom', value: 'secret' }] } },
    ]);
  });

  it('reads quoted strings with escapes', () => {
    expect(loginArgs('a LOGIN "alice smith" "pa\\"ss\\\\word"\r\n')).toEqual(['alice smith', 'pa"ss\\word']);
  });

  it('reads a synchronizing literal after asking for it', () => {
    const events = read('a LOGIN {5}\r\n', 'alice {6}\r\n', 'se cr"\r\n');
    expect(events.map((e) => e.type)).toEqual(['continue', 'continue', 'command']);
    expect(loginArgs('a LOGIN {5}\r\n', 'alice {6}\r\n', 'se cr"\r\n')).toEqual(['alice', 'se cr"']);
  });

  it('reads non-synchronizing literals (LITERAL+) without asking', () => {
    const events = read('a LOGIN {5+}\r\nalice {8+}\r\npass\r\nwd\r\n');
    expect(events.map((e) => e.type)).toEqual(['command']);
    expect(loginArgs('a LOGIN {5+}\r\nalice {8+}\r\npass\r\nwd\r\n')).toEqual(['alice', 'pass\r\nwd']);
  });

  it('keeps UTF-8 in quoted strings, atoms and literals', () => {
    const literal = Buffer.byteLength('pässwörd');
    expect(loginArgs(`a LOGIN ünïcode {${literal}+}\r\npässwörd\r\n`)).toEqual(['ünïcode', 'pässwörd']);
    expect(loginArgs('a LOGIN "ünïcode" "pässwörd"\r\n')).toEqual(['ünïcode', 'pässwörd']);
  });

  it('waits for a command split across chunks', () => {
    expect(read('a1 NO', 'OP\r', '\n').map((e) => e.type)).toEqual(['command']);
  });

  it('reports an unterminated quote as BAD for that tag', () => {
    expect(read('a7 LOGIN "alice\r\n')).toEqual([{ type: 'error', tag: 'a7', message: 'Unterminated quoted string.', fatal: false }]);
  });

  it('reports a bad escape', () => {
    expect(read('a7 LOGIN "a\\lice" x\r\n')[0]).toMatchObject({ type: 'error', tag: 'a7' });
  });

  it('rejects a missing or invalid tag', () => {
    expect(read('\r\n')[0]).toMatchObject({ type: 'error', fatal: false });
    expect(read('a+b NOOP\r\n')[0]).toMatchObject({ type: 'error', message: 'Missing or invalid tag.' });
  });

  it('takes the tag as all of the first word, so a malformed one is not answered as a shorter tag', () => {
    for (const line of ['a"b" NOOP\r\n', 'a(2 NOOP\r\n', 'a75( ID NIL\r\n', ' a9 CAPABILITY\r\n', 'fuzz) NOOP\r\n']) {
      // No tag: the front answers "* BAD", which no client takes for the answer to its "a" or "a9".
      expect(read(line)).toEqual([{ type: 'error', message: 'Missing or invalid tag.', fatal: false }]);
    }
  });

  it('refuses an oversized synchronizing literal without losing sync', () => {
    const events = read('a LOGIN {1000}\r\n', 'b NOOP\r\n');
    expect(events[0]).toEqual({ type: 'error', tag: 'a', message: 'Literal too large.', fatal: false });
    expect(events[1]).toMatchObject({ type: 'command', command: { tag: 'b', name: 'NOOP' } });
  });

  it('treats an oversized non-synchronizing literal as fatal', () => {
    expect(read('a LOGIN {1000+}\r\n')[0]).toMatchObject({ type: 'error', fatal: true });
  });

  it('treats an endless line as fatal', () => {
    expect(read('a '.repeat(200))[0]).toMatchObject({ type: 'error', message: 'Line too long.', fatal: true });
  });

  it('hands back unread bytes, and reads raw lines for SASL', () => {
    const reader = new ImapCommandReader();
    reader.push(Buffer.from('a AUTHENTICATE PLAIN\r\nAGFsaWNlAHB3\r\nb SELECT INBOX\r\n'));
    expect(reader.next()).toMatchObject({ type: 'command', command: { name: 'AUTHENTICATE' } });
    expect(reader.nextLine()).toEqual({ type: 'line', line: Buffer.from('AGFsaWNlAHB3') });
    expect(reader.takeRemaining().toString()).toBe('b SELECT INBOX\r\n');
  });
});

describe('IMAP command reader bounds a whole command', () => {
  function drain(reader: ImapCommandReader): ImapReaderEvent[] {
    const events: ImapReaderEvent[] = [];
    for (let event = reader.next(); event; event = reader.next()) events.push(event);
    return events;
  }

  it('closes on a LOGIN chained from many small non-synchronizing literals', () => {
    const reader = new ImapCommandReader({ maxLineBytes: 200, maxLiteralBytes: 64, maxCommandBytes: 1000 });
    const events: ImapReaderEvent[] = [];
    reader.push(Buffer.from('a LOGIN {1+}\r\n'));
    // Each link is 7 bytes: far below every per-line and per-literal limit.
    for (let i = 0; i < 1000 && !events.some((e) => e.type === 'error'); i++) {
      reader.push(Buffer.from('x {1+}\r\n'));
      events.push(...drain(reader));
    }
    expect(events).toEqual([{ type: 'error', tag: 'a', message: 'Command too long.', fatal: true }]);
    expect(reader.takeRemaining().length).toBe(0);
  });

  it('refuses a synchronizing literal that would pass the command limit, and stays in step', () => {
    const reader = new ImapCommandReader({ maxLineBytes: 200, maxLiteralBytes: 64, maxCommandBytes: 100 });
    reader.push(Buffer.from(`a LOGIN {60+}\r\n${'u'.repeat(60)} {60}\r\nb NOOP\r\n`));
    expect(drain(reader)).toEqual([
      { type: 'error', tag: 'a', message: 'Command too long.', fatal: false },
      { type: 'command', command: { tag: 'b', name: 'NOOP', args: [] } },
    ]);
  });

  it('treats a long line as fatal even when its CRLF arrived with it', () => {
    const reader = new ImapCommandReader({ maxLineBytes: 200, maxLiteralBytes: 64, maxCommandBytes: 1000 });
    reader.push(Buffer.from(`a LOGIN ${'x'.repeat(300)} y\r\n`));
    expect(drain(reader)).toEqual([{ type: 'error', message: 'Line too long.', fatal: true }]);
  });
});
