/** The answer the reference servers give: an active RFC 7662 response of the usual size. */
export const FIXED_ANSWER = JSON.stringify({
  active: true,
  sub: 'c1',
  client_id: 'open-login',
  token_type: 'Bearer',
  exp: 4102444800,
  iat: 4102441200,
  iss: 'http://127.0.0.1',
  aud: 'http://127.0.0.1',
  jti: 'qau6uoUy1UplKQfVCYv1kw',
  site_id: 'site-a',
});

export const port = (): number => Number(process.env.PORT ?? 0);
