import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/cli/parse.js';
import { COMMAND_NAMES } from '../../src/cli/spec.js';
import { HELP } from '../../src/cli/help.js';
import { UsageError } from '../../src/cli/usage-error.js';

const mistake = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('reading the command line', () => {
  it('takes --version and -v with every command, before the argument a command needs', () => {
    for (const command of COMMAND_NAMES) {
      for (const flag of ['--version', '-v']) expect(parseCommandLine([command, flag]).values.version, `${command} ${flag}`).toBe(true);
    }
    expect(parseCommandLine(['--version'])).toMatchObject({ command: 'start', named: false });
  });

  it('has a help text for every command, starting with its usage', () => {
    for (const command of COMMAND_NAMES) {
      expect(parseCommandLine([command, '--help'])).toMatchObject({ command, named: true });
      expect(HELP[command]).toMatch(new RegExp(`^Usage: o365-mail-proxy ${command}\\b`));
    }
  });

  it('defaults to start when the first word is an option', () => {
    expect(parseCommandLine(['--config', 'x.json', '--watch-config'])).toMatchObject({ command: 'start', values: { config: 'x.json', 'watch-config': true } });
  });

  it('turns every mistake into a usage error that says what to type instead', () => {
    expect(mistake(['start', 'config.json'])).toMatch(/"start" takes no arguments, got "config\.json"; to use a config file, pass --config config\.json/);
    expect(mistake(['hash-password', 'x'])).toBe('"hash-password" takes no arguments, got "x" (see o365-mail-proxy help hash-password)');
    expect(mistake(['config.json'])).toMatch(/unknown command "config\.json"; to start with a config file: o365-mail-proxy start --config config\.json/);
    expect(mistake(['gen-cert', '--config', 'x.json'])).toMatch(/"gen-cert" has no option --config/);
    expect(mistake(['start', '--config'])).toMatch(/^--config needs a value/);
    expect(mistake(['doctor', '--protocol', 'imaps'])).toBe('--protocol must be imap, pop3 or smtp, got "imaps"');
    expect(mistake(['start', '--log-format', 'xml'])).toBe('--log-format must be auto, json or pretty, got "xml"');
    expect(mistake(['test-login'])).toMatch(/"test-login" needs the account/);
    expect(mistake(['test-login', 'a', 'b'])).toMatch(/"test-login" takes one account, got also "b"/);
    expect(mistake(['completion', 'fish'])).toMatch(/shell must be bash or powershell, got "fish"/);
  });

  it('gives a command its one argument', () => {
    expect(parseCommandLine(['test-login', 'talend', '--protocol', 'smtp'])).toMatchObject({ command: 'test-login', argument: 'talend', values: { protocol: 'smtp' } });
    expect(parseCommandLine(['help'])).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['help', 'doctor'])).toMatchObject({ argument: 'doctor' });
  });
});
