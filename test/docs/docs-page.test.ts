import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { buildTestApp } from '../helpers/app.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Where the screenshot is kept, for a person to look at after the run. */
export const SCREENSHOT_DIR = mkdtempSync(join(tmpdir(), 'open-login-docs-'));

async function startServer(): Promise<{ base: string; server: Server }> {
  // An issuer on another host: the page must still load nothing from it.
  const { app } = await buildTestApp({ env: { ISSUER: 'https://login.example.test' } });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

if (!existsSync(CHROMIUM) && !inCi) {
  process.stderr.write(`\n*** ${CHROMIUM} not found: the /docs browser test is SKIPPED (apt-get install chromium). ***\n\n`);
  test.skip('the docs page renders the API in a browser, loading nothing from outside (needs chromium)', () => {});
} else {
  test('the docs page renders the API in a browser, loading nothing from outside', async (t) => {
    t.true(existsSync(CHROMIUM), `${CHROMIUM} is required in CI`);
    const { base, server } = await startServer();
    const userDataDir = mkdtempSync(join(tmpdir(), 'open-login-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const page = await context.newPage();
      const requested: string[] = [];
      const problems: string[] = [];
      page.on('request', (request) => requested.push(request.url()));
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });

      const response = await page.goto(`${base}/docs`, { waitUntil: 'load' });
      t.is(response?.status(), 200);
      const csp = (await response!.allHeaders())['content-security-policy'] ?? '';
      t.regex(csp, /default-src 'self'/);
      t.notRegex(csp, /unsafe|https?:|\*/);

      // Swagger UI has rendered the operations of the document.
      const introspect = page.locator('.opblock-summary-path', { hasText: /^\/introspect$/ });
      await introspect.first().waitFor({ state: 'visible', timeout: 20_000 });
      const paths = await page.locator('.opblock-summary-path').allInnerTexts();
      for (const path of ['/introspect', '/revoke', '/api/v1/auth/token/validate', '/.well-known/oauth-authorization-server', '/admin/tokens']) {
        t.true(paths.some((p) => p.replace(/\u200b/g, '') === path), `${path} shown; saw ${paths.join(', ')}`);
      }
      t.true(await page.getByText('Open Login token introspection').first().isVisible());
      await page.waitForLoadState('networkidle');

      // Nothing left the machine: every request went to this server.
      t.true(requested.length >= 4, requested.join('\n'));
      t.true(requested.some((u) => u.endsWith('/openapi.json')));
      for (const url of requested) {
        const { protocol, hostname } = new URL(url);
        t.true(protocol === 'data:' || hostname === '127.0.0.1' || hostname === 'localhost', `request left localhost: ${url}`);
      }
      t.deepEqual(problems, []);

      const file = join(SCREENSHOT_DIR, 'docs.png');
      await page.screenshot({ path: file, fullPage: false });
      const png = readFileSync(file);
      t.is(png.subarray(1, 4).toString('latin1'), 'PNG');
      t.true(png.length > 20_000, `screenshot is only ${png.length} bytes`);
      t.true(png.readUInt32BE(16) >= 600 && png.readUInt32BE(20) >= 400, 'screenshot dimensions');
      t.log(`screenshot: ${file}`);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
}
