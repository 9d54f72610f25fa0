// Shared by the bench scripts: the test fakes compiled for plain Node, the built connector as a
// child process, and percentiles.
import { transformFileSync } from '@swc/core';
import { fork } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The test fakes are TypeScript; SWC turns all of them into CommonJS in `dir`, side by side so their imports resolve. */
export function loadFake(dir, name) {
  for (const file of readdirSync(join(root, 'test/fakes')).filter((f) => f.endsWith('.ts'))) {
    const { code } = transformFileSync(join(root, 'test/fakes', file), { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } });
    writeFileSync(join(dir, file.replace(/\.ts$/, '.js')), code);
  }
  return createRequire(join(dir, 'index.js'))(`./${name}.js`);
}

/** Starts `dist/main.js` (or `entry`) with `env` and resolves once /health/ready answers 200. */
export function startConnector(env, { port, entry = resolve(root, 'dist/main.js') }) {
  return new Promise((resolveStart, reject) => {
    const child = fork(entry, [], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the connector exited with ${code}`)));
    const started = Date.now();
    const poll = async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) return resolveStart(child);
      } catch {}
      if (Date.now() - started > 30_000) return reject(new Error('the connector did not start'));
      setTimeout(poll, 200);
    };
    poll();
  });
}

export async function stop(child) {
  if (!child || child.exitCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
