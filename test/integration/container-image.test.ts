import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

/**
 * The container image is checked by linting, not by building. A daemonless builder exists
 * (Debian's buildah builds here without a daemon), but the image starts FROM node:20 on Docker
 * Hub, and this machine and CI reach only the npm registry and Debian's archive. hadolint is in
 * neither; dockerfile-utils (the linter of the Dockerfile language server in VS Code) is on npm.
 * On top of the linter: what a build would trip over first, checked against this checkout.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

/** Every optional rule, as an error. */
const STRICT: ValidatorSettings = Object.fromEntries(
  ['deprecatedMaintainer', 'directiveCasing', 'emptyContinuationLine', 'instructionCasing', 'instructionCmdMultiple', 'instructionEntrypointMultiple', 'instructionHealthcheckMultiple', 'instructionJSONInSingleQuotes', 'instructionWorkdirRelative'].map((rule) => [rule, ValidationSeverity.ERROR]),
);

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions with their continuation lines joined; comments dropped. */
function instructions(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.trim().split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** .dockerignore's patterns as tests on a path (the simple forms this project uses). */
function ignoredBy(patterns: string[]): (path: string) => boolean {
  const tests = patterns.map((p) => new RegExp(`^${p.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}(/|$)`));
  return (path) => tests.some((t) => t.test(path));
}

describe('the container image (Dockerfile)', () => {
  it('passes the Dockerfile linter with every optional rule as an error', () => {
    expect(validate(dockerfile, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('the linter really checks: a broken Dockerfile gets findings', () => {
    const broken = 'FROM node:20-bookworm-slim AS build\nMAINTAINER someone\nWORKDIR app\nCOPY --frm=build a b\nCMD [\'node\']\n';
    expect(validate(broken, STRICT).map((d) => d.message)).toEqual(expect.arrayContaining(['MAINTAINER has been deprecated', 'WORKDIR paths should be absolute', 'Unknown flag: frm']));
  });

  it('copies only what exists in the checkout and is not in .dockerignore, and from stages defined before', () => {
    const ignored = ignoredBy(readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
    const stages: string[] = [];
    for (const { keyword, args } of instructions(dockerfile)) {
      if (keyword === 'FROM') {
        const stage = /\bAS\s+(\S+)/i.exec(args)?.[1];
        if (stage) stages.push(stage);
      }
      if (keyword !== 'COPY') continue;
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const sources = paths.slice(0, -1);
      if (from) {
        expect(stages, `COPY --from=${from}`).toContain(from);
        continue;
      }
      for (const source of sources) {
        expect(existsSync(join(root, source)), `COPY ${source}: not in the checkout`).toBe(true);
        expect(ignored(source.replace(/^\.\//, '').replace(/\/$/, '')), `COPY ${source}: excluded by .dockerignore`).toBe(false);
      }
    }
    expect(stages).toContain('build');
  });

  it('the build stage\'s npm ci builds dist/, which the image copies: "prepare" runs the build', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
  });

  it('the final image holds every package file the code reads at run time (the schema, package.json)', () => {
    const all = instructions(dockerfile);
    const finalStage = all.slice(all.map((i) => i.keyword).lastIndexOf('FROM'));
    // Where each COPY puts things, relative to WORKDIR /app: "x ./" lands as "x", "a ./b" as "b".
    const copied = finalStage.filter((i) => i.keyword === 'COPY').flatMap((i) => {
      const paths = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const target = paths.at(-1)!.replace(/^(\/app\/|\.\/)/, '');
      return target === '' || target === '.' ? paths.slice(0, -1).map((source) => posix.basename(source)) : [target.replace(/\/$/, '')];
    });
    // Module-relative reads (new URL('../../x', import.meta.url)), resolved from where the module sits in dist/.
    const needed = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/new URL\('([^']+)', import\.meta\.url\)/g)) {
        const inDist = posix.join('dist', relative(join(root, 'src'), dirname(file)).replaceAll('\\', '/'));
        needed.add(posix.normalize(posix.join(inDist, target!)));
      }
    }
    expect([...needed].sort()).toEqual(['config.schema.json', 'package.json']);
    for (const path of needed) expect(copied.some((c) => path === c || path.startsWith(`${c}/`)), `${path} is not in the image`).toBe(true);
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []));
}
