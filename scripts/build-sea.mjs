#!/usr/bin/env node
// Builds o365-mail-proxy as one executable file with Node's single executable applications
// (SEA) feature: a copy of the node binary that carries the proxy as a bundled script.
//
//   npm run build:sea                      → build/sea/o365-mail-proxy (o365-mail-proxy.exe on Windows)
//   npm run build:sea -- --out DIR         → DIR/o365-mail-proxy
//
// Steps: bundle dist/ (tsc's output, the code the tests ran) and its dependencies into one
// CommonJS file with esbuild, because a SEA runs a single CommonJS script whose require() sees
// only Node's built-in modules; let node turn it into a blob (--experimental-sea-config); copy
// the running node binary and inject the blob with postject. The result needs no Node install.
// Windows: the same script in a Windows shell, with Node 20 for Windows; node.exe's signature
// is removed before the injection when signtool is on PATH, and the result can be signed after
// (see README, "Installing").
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, 'build', 'sea') } } });
const outDir = resolve(values.out);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const windows = process.platform === 'win32';
const executable = join(outDir, windows ? 'o365-mail-proxy.exe' : 'o365-mail-proxy');
// The fuse postject flips so that node looks for the blob (Node's SEA documentation).
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * Three places read files of the package at run time, which a single file does not have:
 * the schema and pino-pretty (loaded only for a terminal) are put into the bundle instead,
 * and the version is defined (src/cli/version.ts). Each replacement must match exactly once:
 * if the code changed, the build says where, rather than making an executable that fails.
 */
const schema = readFileSync(join(root, 'config.schema.json'), 'utf8');
const REPLACEMENTS = {
  'dist/config/shape.js': [
    ["new URL('../../config.schema.json', import.meta.url)", "'config.schema.json (bundled)'"],
    ['readFileSync(SCHEMA_URL, \'utf8\')', JSON.stringify(schema)],
  ],
  'dist/ops/log.js': [["createRequire(import.meta.url)('pino-pretty')", "require('pino-pretty')"]],
};

const packageFiles = {
  name: 'package-files',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]dist[\\/](config[\\/]shape|ops[\\/]log)\.js$/ }, (args) => {
      const file = relative(root, args.path).replaceAll('\\', '/');
      let text = readFileSync(args.path, 'utf8');
      for (const [from, to] of REPLACEMENTS[file] ?? []) {
        if (text.split(from).length !== 2) throw new Error(`${file}: expected "${from}" once; update REPLACEMENTS in scripts/build-sea.mjs`);
        text = text.replace(from, () => to);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const bundle = join(outDir, 'o365-mail-proxy.cjs');
await build({
  entryPoints: [join(root, 'dist', 'cli.js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: bundle,
  define: { O365P_BUNDLED_VERSION: JSON.stringify(pkg.version) },
  plugins: [packageFiles],
  logLevel: 'warning',
});

const blob = join(outDir, 'o365-mail-proxy.blob');
const seaConfig = join(outDir, 'sea-config.json');
writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true }));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

copyFileSync(process.execPath, executable);
chmodSync(executable, 0o755);
if (windows) removeSignature(executable);
const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js');
const macos = process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [];
execFileSync(process.execPath, [postject, executable, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL_FUSE, ...macos], { stdio: 'inherit' });
for (const file of [bundle, blob, seaConfig]) rmSync(file);
if (windows) process.stdout.write(`sign it if your policy asks for signed programs: signtool sign /fd SHA256 /a "${executable}"\n`);
process.stdout.write(`wrote ${executable} (o365-mail-proxy ${pkg.version}, node ${process.version})\n`);

/** node.exe's signature does not survive the injection; Node's SEA steps remove it first (signtool, from the Windows SDK). */
function removeSignature(file) {
  try {
    execFileSync('signtool', ['remove', '/s', file], { stdio: 'inherit' });
  } catch {
    process.stdout.write('signtool not found: the executable keeps node.exe\'s now invalid signature (it still runs)\n');
  }
}
