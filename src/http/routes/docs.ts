import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Router from '@koa/router';
import type { AppDeps } from '../deps.js';
import type { AppState } from '../middleware.js';
import { openApiDocument } from '../openapi.js';
import { ROUTER_OPTIONS } from '../routing.js';

/**
 * Everything the page loads comes from this server: no CDN, no inline
 * script, and the Swagger UI validator badge (which calls an outside
 * service) is turned off. The one exception is `data:` images: Swagger UI's
 * stylesheet draws its icons as inline SVG data URIs, which load nothing.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "object-src 'none'",
].join('; ');

const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Files served under /docs/assets/, from the installed swagger-ui-dist. */
const assets: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
  'favicon-32x32.png': { file: 'favicon-32x32.png', type: 'image/png' },
};

const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Open Login token introspection: API</title>
  <link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/assets/swagger-ui-bundle.js"></script>
  <script src="docs/assets/init.js"></script>
</body>
</html>
`;

// Relative URLs, so the page also works behind a reverse proxy under a path prefix.
const initializer = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** Read once per process, on first use: the bundle is large and never changes while running. */
const cache = new Map<string, Buffer>();
async function asset(name: string): Promise<Buffer> {
  let content = cache.get(name);
  if (!content) {
    content = await readFile(join(swaggerUiDir, assets[name]!.file));
    cache.set(name, content);
  }
  return content;
}

/** `GET /openapi.json` and the `/docs` page that renders it. */
export function docsRoutes(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>(ROUTER_OPTIONS);
  const document = JSON.stringify(openApiDocument({ serverUrl: deps.config.issuer }));

  router.get('/openapi.json', (ctx) => {
    ctx.type = 'application/json';
    ctx.body = document;
  });

  router.get('/docs', (ctx) => {
    // Relative asset URLs need the page at /docs exactly.
    if (ctx.path !== '/docs') return ctx.redirect('../docs');
    // The page's relative URLs resolve against /docs as if it were a file in the root.
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page;
  });

  router.get('/docs/assets/:name', async (ctx) => {
    const name = ctx.params.name!;
    if (name === 'init.js') {
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.body = initializer;
      return;
    }
    if (!Object.hasOwn(assets, name)) return; // falls through to the JSON 404
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.remove('Pragma');
    ctx.type = assets[name]!.type;
    ctx.body = await asset(name);
  });

  return router;
}
