import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS } from '../../src/cli/spec.js';
import { tempDir } from '../helpers/config.js';
import { cli } from '../helpers/cli.js';

/**
 * Sources the bash script the CLI prints into a real bash and calls its completion function
 * the way bash does on Tab: COMP_WORDS holds the words, COMP_CWORD the one being completed.
 */
function complete(script: string, words: string[], cwd: string): string[] {
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _o365_mail_proxy; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const scriptFile = join(tempDir(), 'completion.bash');
  writeFileSync(scriptFile, script);
  const result = spawnSync('bash', ['-c', program, 'bash', scriptFile, 'o365-mail-proxy', ...words], { cwd, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean).sort();
}

describe('shell completion', () => {
  const bash = cli(['completion', 'bash']).stdout;
  const dir = tempDir({ 'config.json': '{}', 'config.example.json': '{}', 'notes.txt': '' });
  mkdirSync(join(dir, 'certs'));

  it('bash completes command names, options, listed values, files and the completion shells', () => {
    expect(complete(bash, [''], dir)).toEqual([...COMMAND_NAMES].sort());
    expect(complete(bash, ['ch'], dir)).toEqual(['check-config']);
    expect(complete(bash, ['test-login', '--p'], dir)).toEqual(['--port', '--protocol']);
    expect(complete(bash, ['test-login', 'talend', '--protocol', ''], dir)).toEqual(['imap', 'pop3', 'smtp']);
    expect(complete(bash, ['start', '--log-level', 'd'], dir)).toEqual(['debug']);
    expect(complete(bash, ['start', '--config', 'con'], dir)).toEqual(['config.example.json', 'config.json']);
    expect(complete(bash, ['check-config', '-c', 'config.j'], dir)).toEqual(['config.json']);
    expect(complete(bash, ['gen-cert', '--out', ''], dir)).toEqual(['certs']);
    expect(complete(bash, ['completion', ''], dir)).toEqual(['bash', 'powershell']);
    expect(complete(bash, ['help', 'gen'], dir)).toEqual(['gen-cert']);
    // Without a command, options are start's.
    expect(complete(bash, ['--watch'], dir)).toEqual(['--watch-config']);
  });

  it('bash offers every option of every command', () => {
    for (const command of COMMAND_NAMES) {
      const offered = complete(bash, [command, '--'], dir);
      expect(offered, command).toEqual([...Object.keys(COMMANDS[command].options), 'help', 'version'].map((o) => `--${o}`).sort());
    }
  });

  // No PowerShell on this machine (it is not in Debian's archive): the script is checked for
  // what it must contain, and its install line is the one the README and the help give.
  it('the PowerShell script registers a native completer for both names, with every command and option', () => {
    const result = cli(['completion', 'powershell']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Register-ArgumentCompleter -Native -CommandName 'o365-mail-proxy', 'o365-mail-proxy\.exe' -ScriptBlock \{$/m);
    for (const command of COMMAND_NAMES) {
      const options = [...Object.keys(COMMANDS[command].options), 'help', 'version'].map((o) => `'--${o}'`).join(', ');
      expect(result.stdout).toContain(`'${command}' = @(${options})`);
    }
    expect(result.stdout).toContain("'--protocol' = @('imap', 'pop3', 'smtp')");
    expect(result.stdout).toContain("'completion' = @('bash', 'powershell')");
    expect(result.stdout).toMatch(/o365-mail-proxy completion powershell \| Out-String \| Invoke-Expression/);
  });
});
