import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pod } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it, vi } from 'vitest';
import { minimalConfig, tempDir } from '../helpers/config.js';
import { freePort } from '../helpers/net.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** How every packaging file starts the proxy: `start --config <file>` (plus optional flags). */
const START = /^start --config \S+( --log-format json)?$/;

function unitValue(unit: string, key: string): string {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`no ${key}`);
  return line.slice(key.length + 1);
}

describe('packaging', () => {
  it('the systemd unit\'s ExecStart starts the proxy, and SIGTERM (systemctl stop) ends it with 0', async () => {
    const unit = read('deploy/systemd/o365-mail-proxy.service');
    const [node, cli, ...args] = unitValue(unit, 'ExecStart').split(' ');
    expect(node).toBe('/usr/bin/node');
    expect(cli).toBe('/opt/o365-mail-proxy/dist/cli.js');
    expect(args.join(' ')).toMatch(START);
    expect(unitValue(unit, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');

    // The same arguments, with this checkout standing in for /opt/o365-mail-proxy.
    const dir = tempDir();
    // start asks for a token at once: a closed loopback port answers, nothing leaves the machine.
    const closed = await freePort();
    const config = minimalConfig({ listeners: [{ protocol: 'imap', port: 0 }] });
    (config.apps as any).contoso.authorityHost = `https://127.0.0.1:${closed}`;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const child = spawn(process.execPath, [join(root, 'dist/cli.js'), ...args.map((a) => (a.endsWith('config.json') ? join(dir, 'config.json') : a))]);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await vi.waitFor(() => expect(output).toContain('"event":"ready"'), { timeout: 15_000, interval: 50 });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('the Kubernetes sidecar pod is a valid v1 Pod that starts the proxy the same way, with probes', () => {
    const manifest = parseYaml(read('deploy/kubernetes/pod.yaml')) as Record<string, unknown>;
    const pod = new Pod(manifest as ConstructorParameters<typeof Pod>[0]);
    expect(() => pod.validate()).not.toThrow();
    const proxy = pod.spec!.containers.find((c) => c.name === 'o365-mail-proxy')!;
    expect(proxy.args!.join(' ')).toMatch(START);
    expect(proxy.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(proxy.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(proxy.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(pod.spec!.containers).toHaveLength(2);
  });

  it('rejects a broken pod manifest (the validator is really checking)', () => {
    const manifest = parseYaml(read('deploy/kubernetes/pod.yaml')) as { spec: { containers: unknown } };
    manifest.spec.containers = 'not a list';
    expect(() => new Pod(manifest as ConstructorParameters<typeof Pod>[0]).validate()).toThrow();
  });

  it('the Dockerfile and the compose sidecar run the built CLI as a non-root user with the same command', () => {
    const dockerfile = read('Dockerfile');
    const entrypoint = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[];
    const cmd = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]!) as string[];
    expect(entrypoint).toEqual(['node', '/app/dist/cli.js']);
    expect(cmd.join(' ')).toMatch(START);
    expect(dockerfile).toMatch(/^USER node$/m);
    const compose = parseYaml(read('deploy/compose/compose.yaml')) as { services: Record<string, { command?: string[]; network_mode?: string }> };
    expect(compose.services['o365-mail-proxy']!.command!.join(' ')).toMatch(START);
    expect(compose.services['legacy-job']!.network_mode).toBe('service:o365-mail-proxy');
  });

  it('the Windows service definition runs the same command', () => {
    const xml = read('deploy/windows/o365-mail-proxy.xml');
    const args = /<arguments>"[^"]+\\dist\\cli\.js" (.*)<\/arguments>/.exec(xml)![1]!.replaceAll('"', '');
    expect(args.replace(/C:\\ProgramData\\o365-mail-proxy\\config\.json/, '/x/config.json')).toMatch(START);
  });
});

