import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Locator, type Page } from 'playwright-core';
import { createHttpServer } from '../../src/http/listen.js';
import { ADMIN_TOKEN, basic, buildTestApp } from '../helpers/app.js';
import { freePort } from '../helpers/ports.js';

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

/**
 * The whole app on a real listener whose issuer is its own origin, so that
 * the document's server URL (the issuer) is where the page came from, as it
 * is for `npm start` opened at http://localhost:3000/docs.
 */
async function startSameOriginServer() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app } = await buildTestApp({ env: { ISSUER: base } });
  const server = createHttpServer(app.callback());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const admin = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
    return (await res.json()) as Record<string, string>;
  };
  return { base, server, admin };
}

/** Opens an operation, presses "Try it out", lets `fill` set the request, presses "Execute" and reads the answer shown. */
async function tryItOut(page: Page, operationId: string, fill: (operation: Locator) => Promise<void>): Promise<{ status: string; body: string }> {
  const operation = page.locator(`[id^="operations-"][id$="-${operationId}"]`);
  await operation.locator('.opblock-summary').click();
  await operation.locator('button.try-out__btn').click();
  await fill(operation);
  await operation.locator('button.execute').click();
  const answer = operation.locator('.live-responses-table tr.response');
  await answer.waitFor({ state: 'visible', timeout: 10_000 });
  return { status: (await answer.locator('.response-col_status').innerText()).trim(), body: await answer.locator('.response-col_description').innerText() };
}

if (!existsSync(CHROMIUM) && !inCi) {
  process.stderr.write(`\n*** ${CHROMIUM} not found: the /docs browser tests are SKIPPED (apt-get install chromium). ***\n\n`);
  test.skip('the docs page renders the API in a browser, loading nothing from outside (needs chromium)', () => {});
  test.skip('"Try it out" on the docs page introspects, validates and revokes with the Authorize dialog\'s Basic credentials (needs chromium)', () => {});
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
  test('"Try it out" on the docs page introspects, validates and revokes with the Authorize dialog\'s Basic credentials', async (t) => {
    t.true(existsSync(CHROMIUM), `${CHROMIUM} is required in CI`);
    const { base, server, admin } = await startSameOriginServer();
    const client = await admin('POST', '/admin/clients', { name: 'Energy Intel' });
    await admin('PUT', '/admin/customers/c42', { status: 'active' });
    const { auth_token: token } = await admin('POST', '/admin/tokens', { customer_id: 'c42', site_id: 'energy-intel', client_id: client.client_id });
    const userDataDir = mkdtempSync(join(tmpdir(), 'open-login-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const page = await context.newPage();
      await page.goto(`${base}/docs`, { waitUntil: 'load' });

      // The Authorize dialog: the client's id and secret as HTTP Basic credentials (RFC 6749 §2.3.1).
      await page.locator('.btn.authorize').first().click();
      const dialog = page.locator('.dialog-ux');
      const basicScheme = dialog.locator('.auth-container', { hasText: 'client_secret_basic' });
      await basicScheme.locator('input[type=text]').fill(client.client_id!);
      await basicScheme.locator('input[type=password]').fill(client.client_secret!);
      await basicScheme.locator('button.authorize').click();
      await dialog.locator('button.btn-done').first().click();

      const introspected = await tryItOut(page, 'introspect', (op) => op.locator('tr[data-property-name="token"] input').fill(token!));
      t.is(introspected.status, '200', introspected.body);
      t.regex(introspected.body, /"active": true/);
      t.regex(introspected.body, /"sub": "c42"/);

      const validated = await tryItOut(page, 'validateToken', (op) => op.locator('textarea.body-param__text').fill(JSON.stringify({ auth_token: token })));
      t.is(validated.status, '200', validated.body);
      t.regex(validated.body, /"valid": true/);

      const revoked = await tryItOut(page, 'revoke', (op) => op.locator('tr[data-property-name="token"] input').fill(token!));
      t.is(revoked.status, '200', revoked.body);

      // The revocation took: the token now reads as revoked.
      const after = await fetch(`${base}/introspect`, {
        method: 'POST',
        headers: { authorization: basic(client.client_id!, client.client_secret!), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: token! }),
      });
      t.deepEqual(await after.json(), { active: false, reason: 'revoked' });
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
}
