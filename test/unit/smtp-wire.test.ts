import { describe, expect, it } from 'vitest';
import { DotStuffer } from '../../src/protocols/smtp/dot-stuffing.js';
import { SmtpReplyAssembler, ehloKeywords, formatReply } from '../../src/protocols/smtp/reply.js';

function stuff(...chunks: string[]): string {
  const stuffer = new DotStuffer();
  return chunks.map((c) => stuffer.push(Buffer.from(c)).toString()).join('') + stuffer.end().toString();
}

describe('SMTP dot-stuffing', () => {
  it('doubles a leading dot on every line and terminates the message', () => {
    expect(stuff('.first\r\nmid\r\n.\r\n..two\r\n')).toBe('..first\r\nmid\r\n..\r\n...two\r\n.\r\n');
  });

  it('works when a dot starts a chunk after a line end in the previous chunk', () => {
    expect(stuff('a\r\n', '.b\r\n')).toBe('a\r\n..b\r\n.\r\n');
    expect(stuff('a\r', '\n.b\r\n')).toBe('a\r\n..b\r\n.\r\n');
  });

  it('adds the missing CRLF before the terminator', () => {
    expect(stuff('no newline')).toBe('no newline\r\n.\r\n');
    expect(stuff('ends\r', '\n')).toBe('ends\r\n.\r\n');
  });

  it('leaves dots inside lines alone', () => {
    expect(stuff('a.b\r\n x.\r\n')).toBe('a.b\r\n x.\r\n.\r\n');
  });
});

describe('SMTP replies', () => {
  it('assembles a multi-line reply', () => {
    const assembler = new SmtpReplyAssembler();
    expect(assembler.push('250-mail.example Hello')).toBeUndefined();
    expect(assembler.push('250-STARTTLS')).toBeUndefined();
    const reply = assembler.push('250 AUTH LOGIN XOAUTH2')!;
    expect(reply).toEqual({ code: 250, lines: ['mail.example Hello', 'STARTTLS', 'AUTH LOGIN XOAUTH2'] });
    expect([...ehloKeywords(reply)]).toEqual([['STARTTLS', ''], ['AUTH', 'LOGIN XOAUTH2']]);
    expect(formatReply(reply)).toBe('250-mail.example Hello\r\n250-STARTTLS\r\n250 AUTH LOGIN XOAUTH2');
  });

  it('accepts a bare code', () => {
    expect(new SmtpReplyAssembler().push('334')).toEqual({ code: 334, lines: [''] });
  });

  it.each(['hello', '99 x', '250x', '600 x'])('rejects %j', (line) => {
    expect(() => new SmtpReplyAssembler().push(line)).toThrow();
  });

  it('rejects lines that disagree on the code', () => {
    const assembler = new SmtpReplyAssembler();
    assembler.push('250-a');
    expect(() => assembler.push('251 b')).toThrow();
  });
});
