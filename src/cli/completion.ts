import { COMMAND_NAMES, COMMANDS, optionsOf, type CommandName, type CommandSpec, type ValueKind } from './spec.js';

/**
 * Shell completion scripts, written from the command table (spec.ts), so a new command or
 * option completes without anyone editing a script. Both complete: command names, each
 * command's long options, option values (files, folders, listed values) and the listed values
 * of a positional argument (completion's shell, help's command).
 */
export function completionScript(shell: 'bash' | 'powershell'): string {
  return shell === 'bash' ? bashScript() : powershellScript();
}

/** Every option's value kind; one name means one kind across commands, or the scripts would need per-command cases. */
function valueKinds(): Map<string, ValueKind> {
  const kinds = new Map<string, ValueKind>();
  for (const command of COMMAND_NAMES) {
    for (const [name, spec] of Object.entries(optionsOf(command))) {
      if (spec.type !== 'string') continue;
      const kind = spec.value ?? 'text';
      const known = kinds.get(name);
      if (known !== undefined && JSON.stringify(known) !== JSON.stringify(kind)) throw new Error(`--${name} completes differently in different commands`);
      kinds.set(name, kind);
    }
  }
  return kinds;
}

function longOptions(command: CommandName): string[] {
  return Object.keys(optionsOf(command)).map((name) => `--${name}`);
}

function argumentValues(command: CommandName): readonly string[] {
  const argument = (COMMANDS[command] as CommandSpec).argument;
  if (command === 'help') return COMMAND_NAMES;
  return argument?.values ?? [];
}

function bashScript(): string {
  const valueCases = [...valueKinds()].map(([name, kind]) => {
    const short = Object.values(COMMANDS).flatMap((c) => Object.entries(c.options as CommandSpec['options'])).find(([n]) => n === name)?.[1].short;
    const pattern = short ? `--${name}|-${short}` : `--${name}`;
    if (kind === 'file') return `    ${pattern}) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;`;
    if (kind === 'dir') return `    ${pattern}) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;`;
    if (kind === 'text') return `    ${pattern}) return ;;`;
    return `    ${pattern}) COMPREPLY=($(compgen -W "${kind.join(' ')}" -- "$cur")); return ;;`;
  });
  const commandCases = COMMAND_NAMES.map((c) => `    ${c}) options="${longOptions(c).join(' ')}"; arguments="${argumentValues(c).join(' ')}" ;;`);
  return `# bash completion for o365-mail-proxy, made by: o365-mail-proxy completion bash
# Install: o365-mail-proxy completion bash > ~/.local/share/bash-completion/completions/o365-mail-proxy
_o365_mail_proxy() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local command=start options arguments
  if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
    COMPREPLY=($(compgen -W "${COMMAND_NAMES.join(' ')}" -- "$cur"))
    return
  fi
  # The command is the first word; without one (only options) it is start.
  if [[ $COMP_CWORD -gt 1 && \${COMP_WORDS[1]} != -* ]]; then command=\${COMP_WORDS[1]}; fi
  case $prev in
${valueCases.join('\n')}
  esac
  case $command in
${commandCases.join('\n')}
    *) return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$options" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$arguments" -- "$cur"))
  fi
}
complete -F _o365_mail_proxy o365-mail-proxy
`;
}

const psList = (items: readonly string[]) => `@(${items.map((i) => `'${i}'`).join(', ')})`;

function powershellScript(): string {
  const options = COMMAND_NAMES.map((c) => `    '${c}' = ${psList(longOptions(c))}`).join('\n');
  const argumentsTable = COMMAND_NAMES.filter((c) => argumentValues(c).length > 0).map((c) => `    '${c}' = ${psList(argumentValues(c))}`).join('\n');
  // A file or folder value returns nothing, and PowerShell then completes paths by itself.
  const values = [...valueKinds()].map(([name, kind]) => `    '--${name}' = ${Array.isArray(kind) ? psList(kind) : '@()'}`).join('\n');
  return `# PowerShell completion for o365-mail-proxy, made by: o365-mail-proxy completion powershell
# Install: add this line to $PROFILE:  o365-mail-proxy completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName 'o365-mail-proxy', 'o365-mail-proxy.exe' -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $commands = ${psList(COMMAND_NAMES)}
  $options = @{
${options}
  }
  $arguments = @{
${argumentsTable}
  }
  $values = @{
${values}
  }
  # The words before the one being completed.
  $words = @($commandAst.CommandElements | Select-Object -Skip 1 | Where-Object { $_.Extent.EndOffset -lt $cursorPosition } | ForEach-Object { $_.ToString() })
  if ($words.Count -eq 0 -and -not $wordToComplete.StartsWith('-')) {
    $candidates = $commands
  } else {
    $command = if ($words.Count -gt 0 -and -not $words[0].StartsWith('-')) { $words[0] } else { 'start' }
    $previous = if ($words.Count -gt 0) { $words[-1] } else { '' }
    if ($previous -eq '-c') { $previous = '--config' }
    if ($values.ContainsKey($previous)) {
      $candidates = $values[$previous]
    } elseif ($wordToComplete.StartsWith('-')) {
      $candidates = $options[$command]
    } else {
      $candidates = $arguments[$command]
    }
  }
  @($candidates) | Where-Object { $_ -and $_ -like "$wordToComplete*" } | ForEach-Object {
    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
  }
}
`;
}
