/**
 * Headless Chromium for the browser tests: Debian's `chromium` package (installed by .ci/run),
 * driven with playwright-core, which downloads no browser of its own. One browser per test file,
 * a fresh profile per launch.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

/** The Chromium binary: `CHROMIUM`, default Debian's /usr/bin/chromium. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep a headless Chromium quiet and self-contained on a machine with no network beyond loopback. */
const FLAGS = ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium package (.ci/run does) or set CHROMIUM`);
  // playwright-core gives each launch a fresh temporary profile (--user-data-dir) and removes it on close.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args: FLAGS, timeout: 60_000 });
}

/** Where tests keep screenshots: test-artifacts/ at the repository root (gitignored). */
export async function artifactPath(name: string): Promise<string> {
  const dir = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url));
  await mkdir(dir, { recursive: true });
  return `${dir}${name}`;
}
