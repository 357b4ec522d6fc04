/**
 * Headless Debian Chromium through playwright-core (nothing is downloaded): a fresh profile per launch,
 * removed on close. Screenshots go to test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** The first that exists of CHROMIUM_PATH and the usual places (scripts/ensure-services.js checks the same list). */
export const CHROMIUM_PATH =
  [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => p && existsSync(p)) ??
  process.env.CHROMIUM_PATH ??
  '/usr/bin/chromium';
export const ARTIFACTS_DIR = path.join(__dirname, '..', '..', 'test-artifacts');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  // playwright passes the profile as --user-data-dir; a fresh one per run keeps tests independent.
  const profile = mkdtempSync(path.join(os.tmpdir(), 'bulksms-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}
