import { createServer } from 'node:http';
import Router from '@koa/router';
import Koa from 'koa';
import getRawBody from 'raw-body';
import { FIXED_ANSWER, port } from './fixed.js';

/**
 * The framework floor: Koa and @koa/router with the same form body parsing
 * as the server (raw-body, URLSearchParams), answering a fixed JSON.
 */
const app = new Koa();
const router = new Router();
const answer = JSON.parse(FIXED_ANSWER) as Record<string, unknown>;
router.post('/introspect', async (ctx) => {
  const form = new URLSearchParams(await getRawBody(ctx.req, { limit: 16384, encoding: 'utf8' }));
  if (!form.get('token')) ctx.throw(400);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = answer;
});
app.use(router.routes());
createServer(app.callback()).listen(port(), '127.0.0.1');
