import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES } from '../../src/cli/spec.js';
import { cli } from '../helpers/cli.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('command line usage', () => {
  it('"help" lists every command with one line, and "help <command>" explains it like --help', () => {
    const overview = cli(['help']);
    expect(overview.status).toBe(0);
    for (const command of COMMAND_NAMES) expect(overview.stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    for (const command of COMMAND_NAMES) {
      const help = cli(['help', command]);
      expect(help.status, command).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: o365-mail-proxy ${command}`));
      expect(cli([command, '--help']).stdout).toBe(help.stdout);
    }
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

  it('--version (and -v) works with every command, before anything else is checked', () => {
    // test-login and completion need an argument, start a config file: --version needs neither.
    for (const args of [['-v'], ['--version'], ...COMMAND_NAMES.map((c) => [c, '--version']), ['test-login', '-v']]) {
      const result = cli(args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toBe(`${VERSION}\n`);
    }
  });

  it('a positional argument where none is expected is a usage error (exit 2) that says to use --config', () => {
    const result = cli(['start', 'config.json']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/"start" takes no arguments, got "config\.json"; to use a config file, pass --config config\.json/);
    const bare = cli(['config.json']);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/o365-mail-proxy start --config config\.json/);
  });

  it('unknown options, missing values and values outside their list are usage errors (exit 2) naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['start', '--nope'], /"start" has no option --nope/],
      [['gen-cert', '--config', 'x.json'], /"gen-cert" has no option --config/],
      [['start', '--config'], /--config needs a value/],
      [['doctor', '--protocol', 'imaps'], /--protocol must be imap, pop3 or smtp, got "imaps"/],
      [['start', '--log-level', 'loud'], /--log-level must be fatal, error, warn, info, debug, trace or silent/],
      [['test-login'], /"test-login" needs the account/],
      [['completion', 'fish'], /shell must be bash or powershell/],
    ];
    for (const [args, message] of cases) {
      const result = cli(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
