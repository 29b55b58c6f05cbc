import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pod } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * The deploy files, the Dockerfile and the README's commands name the same things many times
 * over: the image and its tag, where the config and the certificates are mounted, which ports
 * the listeners use. These tests read them all and check that they still fit together and fit
 * config.example.json, the config a new user starts from.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

const version = (JSON.parse(read('package.json')) as { version: string }).version;
const IMAGE = `o365-mail-proxy:${version}`;
const example = JSON.parse(read('config.example.json')) as {
  apps: Record<string, Record<string, unknown>>;
  listeners: { protocol: string; host: string; port: number; tls: string }[];
  tls: { certFile: string; keyFile: string };
  admin: { port: number };
};
const listenerPorts = example.listeners.map((l) => l.port).sort();
const envNames = [...JSON.stringify(example).matchAll(/\$\{env:([A-Z0-9_]+)\}/g)].map((m) => m[1]!);

const dockerfile = read('Dockerfile');
/** Where the image's default command reads its config. */
const configPath = (() => {
  const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
  return cmd[cmd.indexOf('--config') + 1]!;
})();
/** Where the config's certificate and key are once it sits at configPath (relative paths start at the config file). */
const tlsPaths = [example.tls.certFile, example.tls.keyFile].map((p) => posix.resolve(posix.dirname(configPath), p));
/** The node image's "node" user, which the Dockerfile's USER names. */
const IMAGE_UID = 1000;

/** Splits a shell command line into words, the way sh would for these simple commands (quotes, no expansion). */
function shellWords(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every `docker <verb>` command in a text, continuation lines joined, comment markers dropped. */
function dockerCommands(text: string, verb: 'run' | 'build'): string[][] {
  const joined = text.replace(/\\\n#?\s*/g, ' ');
  return [...joined.matchAll(new RegExp(`^[#\\s]*(docker ${verb} .*)$`, 'gm'))].map((m) => shellWords(m[1]!));
}

interface RunOptions {
  image: string;
  mounts: string[];
  env: string[];
  published: number[];
  hostNetwork: boolean;
}

function parseDockerRun(words: string[]): RunOptions {
  const options: RunOptions = { image: '', mounts: [], env: [], published: [], hostNetwork: false };
  for (let i = 2; i < words.length; i++) {
    const word = words[i]!;
    if (word === '-v' || word === '--volume') options.mounts.push(words[++i]!.split(':')[1]!);
    else if (word === '-e' || word === '--env') options.env.push(words[++i]!.split('=')[0]!);
    else if (word === '-p' || word === '--publish') options.published.push(Number(words[++i]!.split(':').at(-1)));
    else if (word === '--network') options.hostNetwork = words[++i] === 'host';
    else if (word === '--user' || word === '-u') i++;
    else if (!word.startsWith('-')) {
      options.image = word;
      break;
    }
  }
  return options;
}

/** A mount target covers a path when it is the path or one of its directories. */
const covered = (path: string, targets: string[]) => targets.some((t) => path === t || path.startsWith(`${t.replace(/\/$/, '')}/`));

function expectRunFitsTheExample(run: RunOptions): void {
  expect(run.image).toBe(IMAGE);
  expect(covered(configPath, run.mounts), `config ${configPath} not mounted`).toBe(true);
  for (const path of tlsPaths) expect(covered(path, run.mounts), `${path} (config.example.json's tls) not mounted`).toBe(true);
  expect(run.env).toEqual(expect.arrayContaining(envNames));
  // Loopback listeners need the host's network; otherwise every listener's port must be published.
  if (!run.hostNetwork) expect(run.published.sort()).toEqual(listenerPorts);
}

describe('deploy files fit together and fit config.example.json', () => {
  it('the example config has TLS listeners and an env secret, so the checks below have something to check', () => {
    expect(example.listeners.some((l) => l.tls !== 'none')).toBe(true);
    expect(envNames).toEqual(['CONTOSO_CLIENT_SECRET']);
  });

  it('the README builds and runs the image with the config, the certificates and the secret the example needs', () => {
    const readme = read('README.md');
    expect(dockerCommands(readme, 'build').map((w) => w.slice(2).join(' '))).toEqual([`-t ${IMAGE} .`]);
    const runs = dockerCommands(readme, 'run');
    expect(runs).toHaveLength(1);
    const run = parseDockerRun(runs[0]!);
    expectRunFitsTheExample(run);
    // Without host networking the README names the ports to publish instead: the example's.
    const publish = /`(-p 127\.0\.0\.1:\d+:\d+(?: -p 127\.0\.0\.1:\d+:\d+)*)` instead of/.exec(readme);
    expect(parseDockerRun(['docker', 'run', ...shellWords(publish![1]!), IMAGE]).published.sort()).toEqual(listenerPorts);
  });

  it('the Dockerfile\'s own example command does the same, and it exposes the example\'s ports', () => {
    expect(dockerCommands(dockerfile, 'build').map((w) => w.slice(2).join(' '))).toEqual([`-t ${IMAGE} .`]);
    expectRunFitsTheExample(parseDockerRun(dockerCommands(dockerfile, 'run')[0]!));
    const exposed = /^EXPOSE (.*)$/m.exec(dockerfile)![1]!.split(/\s+/).map(Number).sort();
    expect(exposed).toEqual([...listenerPorts, example.admin.port].sort());
    expect(dockerfile).toMatch(/^USER node$/m);
  });

  it('the compose sidecar mounts what the config names, passes the secret, and uses the same image', () => {
    const compose = parseYaml(read('deploy/compose/compose.yaml')) as { services: Record<string, any> };
    const proxy = compose.services['o365-mail-proxy'];
    expect(proxy.image).toBe(IMAGE);
    expect(proxy.command[proxy.command.indexOf('--config') + 1]).toBe(configPath);
    const targets = (proxy.volumes as string[]).map((v) => v.split(':')[1]!);
    for (const path of [configPath, ...tlsPaths]) expect(covered(path, targets), path).toBe(true);
    expect(Object.keys(proxy.environment)).toEqual(expect.arrayContaining(envNames));
    expect(proxy.healthcheck.test.join(' ')).toContain(`http://127.0.0.1:${example.admin.port}/readyz`);
    // The job's comment names the ports it talks to: the example's listeners.
    const jobPorts = /talks to localhost:(\d+) \(IMAP\), (\d+) \(POP3\), (\d+) \(SMTP\)/.exec(read('deploy/compose/compose.yaml'))!.slice(1).map(Number);
    expect(jobPorts.sort()).toEqual(listenerPorts);
  });

  it('the Kubernetes pod runs the same image, mounts the config and a key its user may read where the config names them', () => {
    const text = read('deploy/kubernetes/pod.yaml');
    const pod = new Pod(parseYaml(text) as ConstructorParameters<typeof Pod>[0]);
    const spec = pod.spec!;
    const proxy = spec.containers.find((c) => c.name === 'o365-mail-proxy')!;
    expect(proxy.image).toBe(IMAGE);
    expect(text).toContain(`docker build -t ${IMAGE} .`);
    expect(proxy.args![proxy.args!.indexOf('--config') + 1]).toBe(configPath);
    expect(proxy.ports!.find((p) => p.name === 'admin')!.containerPort).toBe(example.admin.port);
    expect(proxy.envFrom!.some((e) => e.secretRef)).toBe(true);

    // Each file the config needs: which mount holds it, and from which volume item.
    const fileIn = (path: string) => {
      const mount = proxy.volumeMounts!.find((m) => covered(path, [m.mountPath]))!;
      expect(mount, `${path} not mounted`).toBeDefined();
      const volume = spec.volumes!.find((v) => v.name === mount.name)!;
      const source = volume.secret ?? volume.configMap!;
      const name = mount.subPath ?? posix.relative(mount.mountPath, path);
      const item = source.items ? source.items.find((i) => i.path === name) : { key: name, path: name };
      expect(item, `${path}: no item ${name} in volume ${mount.name}`).toBeDefined();
      return { mode: (item as { mode?: number }).mode ?? source.defaultMode ?? 0o644 };
    };
    fileIn(configPath);
    for (const path of tlsPaths) fileIn(path);
    // The container's user reads the key: by its group (the pod's fsGroup owns mounted secrets) or as anyone.
    const keyMode = fileIn(tlsPaths[1]!).mode;
    expect(spec.securityContext!.runAsUser).toBe(IMAGE_UID);
    expect(spec.securityContext!.fsGroup !== undefined && (keyMode & 0o040) !== 0).toBe(true);
    expect(keyMode & 0o007).toBe(0);

    const jobPorts = /connects to 127\.0\.0\.1:([\d/]+)/.exec(text)![1]!.split('/').map(Number);
    expect(jobPorts.sort()).toEqual(listenerPorts);
  });

  it('the systemd unit runs as the user the sysusers file creates, and its comments and the README use that user and those paths', () => {
    const unit = read('deploy/systemd/o365-mail-proxy.service');
    const value = (key: string) => unit.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const user = /^u (\S+) /m.exec(read('deploy/systemd/o365-mail-proxy.sysusers'))![1]!;
    expect(value('User')).toBe(user);
    expect(value('Group')).toBe(user);
    expect(value('DynamicUser')).toBeUndefined();

    const [node, cli, , , config] = value('ExecStart')!.split(' ');
    const installDir = dirname(dirname(cli!));
    // Documentation= names a file the install puts there: the README, which npm pack ships too.
    expect(value('Documentation')).toBe(`file:${installDir}/README.md`);
    expect((JSON.parse(read('package.json')) as { files: string[] }).files).toContain('README.md');

    const envFile = value('EnvironmentFile')!.replace(/^-/, '');
    const doctor = `systemd-run --pipe --wait --quiet -p User=${user} -p EnvironmentFile=${envFile} ${node} ${cli} doctor --config ${config}`;
    expect(unit).toContain(`#   ${doctor}\n`);
    expect(read('README.md').replace(/ \\\n\s+/g, ' ')).toContain(`sudo ${doctor}`);
    const certsDir = posix.dirname(posix.resolve(posix.dirname(config!), example.tls.keyFile));
    expect(unit).toContain(`gen-cert --out ${certsDir} --group ${user}`);
    expect(unit).not.toMatch(/sudo -u/);
  });
});
