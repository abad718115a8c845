import { readFile } from 'node:fs/promises';
import { clientView, customerView, issuedTokenView } from '../app/views.js';
import { clientAuthMethods } from '../clients/client-auth.js';
import { registrationResponse } from '../clients/client-registration.js';
import type { ClientAuthMethod, TokenFormat } from '../store/types.js';
import { checkId, oneOf, optionalText, parse, readTokenFile, required, UsageError, type Command } from './shared.js';

/** The commands on clients, customers and tokens: each parses its options and calls one application service. */

// ---- clients ----

const clientsCreate: Command = (args) => {
  const { values } = parse(args, {
    name: { type: 'string' },
    'auth-method': { type: 'string' },
    'jwks-file': { type: 'string' },
    'jwks-uri': { type: 'string' },
    'introspection-signed-response-alg': { type: 'string' },
    'no-reason-codes': { type: 'boolean' },
    'customer-profile': { type: 'boolean' },
    site: { type: 'string', multiple: true },
  });
  const name = required('--name', values.name);
  if (name.length < 1 || name.length > 200) throw new UsageError('--name: must be 1-200 characters');
  const authMethod = oneOf<ClientAuthMethod>('--auth-method', values['auth-method'], clientAuthMethods) ?? 'client_secret_basic';
  const sites = values.site?.map((s) => checkId('--site', s)) ?? null;
  if (sites && sites.length > 1000) throw new UsageError('--site: at most 1000 sites');
  const jwksFile = values['jwks-file'];
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const { client, secret } = await rt.services.registerClient(
        {
          name,
          authMethod,
          reasonCodes: values['no-reason-codes'] !== true,
          customerProfile: values['customer-profile'] === true,
          siteIds: sites,
          jwks: jwksFile !== undefined ? await readJwksFile(jwksFile) : undefined,
          jwksUri: values['jwks-uri'],
          introspectionSignedResponseAlg: values['introspection-signed-response-alg'],
        },
        'cli',
      );
      ctx.print(registrationResponse(client, secret));
      return 0;
    },
  };
};

async function readJwksFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError('--jwks-file: is not valid JSON');
  }
}

const clientsList: Command = (args) => {
  parse(args, {});
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print({ clients: (await rt.services.listClients()).map(clientView) });
      return 0;
    },
  };
};

// ---- customers ----

const customersUpsert: Command = (args) => {
  const { values, positionals } = parse(
    args,
    {
      status: { type: 'string' },
      username: { type: 'string' },
      email: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
    },
    ['ID'],
  );
  const customerId = checkId('ID', positionals[0]!);
  const status = oneOf('--status', values.status, ['active', 'disabled'] as const);
  const username = optionalText('--username', values.username, 255);
  const email = optionalText('--email', values.email, 320);
  const firstName = optionalText('--first-name', values['first-name'], 200);
  const lastName = optionalText('--last-name', values['last-name'], 200);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const { customer } = await rt.services.upsertCustomer(customerId, { status, username, email, firstName, lastName }, 'cli');
      ctx.print(customerView(customer));
      return 0;
    },
  };
};

const customersDisable: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print(customerView(await rt.services.disableCustomer(customerId, 'cli')));
      return 0;
    },
  };
};

const customersShow: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print(customerView(await rt.services.getCustomer(customerId)));
      return 0;
    },
  };
};

// ---- tokens ----

const tokensIssue: Command = (args, config) => {
  const { values } = parse(args, {
    customer: { type: 'string' },
    site: { type: 'string' },
    'client-id': { type: 'string' },
    'expires-in': { type: 'string' },
    format: { type: 'string' },
    audience: { type: 'string', multiple: true },
  });
  const customerId = checkId('--customer', required('--customer', values.customer));
  const siteId = values.site !== undefined ? checkId('--site', values.site) : null;
  const clientId = values['client-id'] !== undefined ? checkId('--client-id', values['client-id']) : config.defaultTokenClientId;
  const format = oneOf<TokenFormat>('--format', values.format, ['jwt', 'opaque']) ?? 'jwt';
  let expiresIn = config.defaultTokenTtlSeconds;
  if (values['expires-in'] !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(values['expires-in'])) throw new UsageError('--expires-in: must be a positive whole number of seconds');
    expiresIn = Number(values['expires-in']);
  }
  if (expiresIn > config.maxTokenTtlSeconds) throw new UsageError(`--expires-in: must be at most ${config.maxTokenTtlSeconds} (MAX_TOKEN_TTL_SECONDS)`);
  // Repeated for several URIs; checked by the service (one rule for the admin API and the CLI).
  const audience = values.audience;
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const request = { customerId, siteId, clientId, expiresInSeconds: expiresIn, format, ...(audience !== undefined ? { audience } : {}) };
      ctx.print(issuedTokenView(await rt.services.issueToken(request, 'cli')));
      return 0;
    },
  };
};

const tokensRevoke: Command = (args) => {
  const { values } = parse(args, { jti: { type: 'string' }, 'token-file': { type: 'string' } });
  const jti = values.jti;
  const tokenFile = values['token-file'];
  if ((jti === undefined) === (tokenFile === undefined)) throw new UsageError('give exactly one of --jti or --token-file');
  if (jti !== undefined && (jti.length < 1 || jti.length > 256)) throw new UsageError('--jti: must be 1-256 characters');
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      const which = jti !== undefined ? { jti } : { token: await readTokenFile(tokenFile!, ctx.readStdin) };
      ctx.print({ revoked: await rt.services.revokeToken(which, 'cli') });
      return 0;
    },
  };
};

const tokensRevokeCustomer: Command = (args) => {
  const { positionals } = parse(args, {}, ['ID']);
  const customerId = checkId('ID', positionals[0]!);
  return {
    needs: 'store',
    run: async (ctx, rt) => {
      ctx.print({ revoked: await rt.services.revokeCustomerTokens(customerId, 'cli') });
      return 0;
    },
  };
};

export const dataCommands: Record<string, Record<string, Command>> = {
  clients: { create: clientsCreate, list: clientsList },
  customers: { upsert: customersUpsert, disable: customersDisable, show: customersShow },
  tokens: { issue: tokensIssue, revoke: tokensRevoke, 'revoke-customer': tokensRevokeCustomer },
};
