import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../../src/cli/spec.js';
import { cli } from '../helpers/cli.js';

// What the built CLI does with what it read (test/unit/cli-parse.test.ts covers every command
// and every mistake without starting a process each time).
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('command line usage', () => {
  it('"help" lists every command with one line, and "help <command>" explains it like --help', () => {
    const overview = cli(['help']);
    expect(overview.status).toBe(0);
    for (const command of COMMAND_NAMES) expect(overview.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    const help = cli(['help', 'test-login']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: o365-mail-proxy test-login <account>/);
    expect(cli(['test-login', '--help']).stdout).toBe(help.stdout);
  });

  it('the README\'s command table has a row for every command', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('### Commands'), readme.indexOf('## Configuration'));
    for (const command of COMMAND_NAMES) expect(table, command).toMatch(new RegExp(`^\\| \`${command}[ \`]`, 'm'));
  });

  it('"help" with an unknown command is a usage error', () => {
    const result = cli(['help', 'frobnicate']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/no command "frobnicate"/);
  });

  it('prints the version alone, with or without a command, even one that lacks its argument', () => {
    for (const args of [['-v'], ['start', '--version'], ['test-login', '--version']]) {
      const result = cli(args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toBe(`${VERSION}\n`);
    }
  });

  it('a positional argument where none is expected is a usage error (exit 2) that says to use --config', () => {
    const result = cli(['start', 'config.json']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('o365-mail-proxy: "start" takes no arguments, got "config.json"; to use a config file, pass --config config.json (see o365-mail-proxy help start)\n');
  });

  it('an unknown option or a value outside its list is a usage error (exit 2) naming the option', () => {
    const unknown = cli(['start', '--nope']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/"start" has no option --nope/);
    const listed = cli(['doctor', '--protocol', 'imaps']);
    expect(listed.status).toBe(2);
    expect(listed.stderr).toMatch(/--protocol must be imap, pop3 or smtp/);
  });
});
