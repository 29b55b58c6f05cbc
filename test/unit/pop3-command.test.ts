import { describe, expect, it } from 'vitest';
import { parsePop3Command, words } from '../../src/fronts/pop3/command.js';

describe('POP3 command parsing', () => {
  it('upper-cases the keyword and keeps the argument byte for byte', () => {
    const command = parsePop3Command(Buffer.from('pass  two  spaces ünï '));
    expect(command?.name).toBe('PASS');
    expect(command?.argument.toString('utf8')).toBe(' two  spaces ünï ');
  });

  it('accepts a keyword alone', () => {
    expect(parsePop3Command(Buffer.from('CAPA'))).toEqual({ name: 'CAPA', argument: Buffer.alloc(0) });
  });

  it.each(['', 'X', 'TOOLONG arg', '12 x', ' USER x'])('rejects %j', (line) => {
    expect(parsePop3Command(Buffer.from(line))).toBeUndefined();
  });

  it('splits AUTH arguments', () => {
    expect(words(Buffer.from('PLAIN  AGEAYg=='))).toEqual(['PLAIN', 'AGEAYg==']);
  });
});
