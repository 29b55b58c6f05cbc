import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMANDS, isCommand, optionsOf, type CommandName, type CommandSpec } from './spec.js';
import { UsageError } from './usage-error.js';

export type OptionValues = Readonly<Record<string, string | boolean | string[] | undefined>>;

export interface CommandLine {
  command: CommandName;
  /** Whether the command was named (help for "start --help" differs from help for "--help"). */
  named: boolean;
  values: OptionValues;
  /** The positional argument of commands that take one. */
  argument?: string;
}

/**
 * Reads argv (without node and the script) against the command table. Pure: every mistake is
 * a UsageError (exit code 2) that says what to type instead. The one positional argument is
 * checked after --help and --version, which every command answers whatever else is missing.
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const first = argv[0];
  const named = first !== undefined && !first.startsWith('-');
  const name = named ? first : 'start';
  if (!isCommand(name)) throw new UsageError(unknownCommand(name));
  const command: CommandName = name;
  const args = named ? argv.slice(1) : [...argv];
  let parsed: { values: OptionValues; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: optionsOf(command) as ParseArgsConfig['options'], strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(optionMistake(command, error as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help || values.version) return { command, named, values };
  checkListedValues(command, values);
  return { command, named, values, ...argumentOf(command, positionals) };
}

function argumentOf(command: CommandName, positionals: string[]): { argument?: string } {
  const spec = (COMMANDS[command] as CommandSpec).argument;
  const [argument, ...extra] = positionals;
  if (!spec) {
    if (argument === undefined) return {};
    const hint = 'config' in COMMANDS[command].options ? `; to use a config file, pass --config ${argument}` : '';
    throw new UsageError(`"${command}" takes no arguments, got "${argument}"${hint} (see o365-mail-proxy help ${command})`);
  }
  if (argument === undefined) {
    if (spec.required) throw new UsageError(`"${command}" needs the ${spec.name}: o365-mail-proxy ${command} <${spec.name}> (see o365-mail-proxy help ${command})`);
    return {};
  }
  if (extra.length > 0) throw new UsageError(`"${command}" takes one ${spec.name}, got also "${extra.join('", "')}"`);
  if (spec.values && !spec.values.includes(argument)) throw new UsageError(`"${command}": ${spec.name} must be ${spec.values.join(' or ')}, got "${argument}"`);
  return { argument };
}

/** Options whose value is one of a list (--protocol, --log-level) get it checked here, once. */
function checkListedValues(command: CommandName, values: OptionValues): void {
  for (const [name, spec] of Object.entries(optionsOf(command))) {
    const value = values[name];
    if (typeof value !== 'string' || !Array.isArray(spec.value)) continue;
    const allowed = spec.value as readonly string[];
    if (!allowed.includes(value)) throw new UsageError(`--${name} must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}, got "${value}"`);
  }
}

function unknownCommand(name: string): string {
  const hint = name.endsWith('.json') ? `; to start with a config file: o365-mail-proxy start --config ${name}` : '';
  return `unknown command "${name}"${hint} (o365-mail-proxy help lists the commands)`;
}

/** parseArgs' own words are long and suggest "--" tricks; say which option and where to look. */
function optionMistake(command: CommandName, error: Error & { code?: string }): string {
  const option = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `"${command}" has no option ${option} (see o365-mail-proxy help ${command})`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${option.replace(/ <value>$/, '').replace(/^-\w, /, '')} needs a value (see o365-mail-proxy help ${command})`;
    default:
      return `${error.message} (see o365-mail-proxy help ${command})`;
  }
}

/** A string option's value, if given. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(values: OptionValues, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value : [];
}

export function flag(values: OptionValues, name: string): boolean {
  return values[name] === true;
}
