/**
 * The layers of src/, enforced by `npm run lint` (dependency-cruiser).
 * README "Design" draws the same map. Each folder imports only the layers
 * below it, so no two folders can import each other; module cycles are
 * refused too.
 *
 *   lib, log.ts, config      no project imports (but log/config/lib)
 *   core                     the rules: decision, revocation, tokens, events, ports
 *   store (adapters)         only the store port (store/types.ts), log and lib
 *   keys, clients, cache     core and the port
 *   app                      application services: core, clients, the port
 *   http, cli                adapters: the services; never each other
 *   server.ts, runtime.ts    composition: may wire anything
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not import each other, directly or through others.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-is-generic',
      severity: 'error',
      comment: 'src/lib holds generic structures: it knows nothing of the project.',
      from: { path: '^src/lib/' },
      to: { path: '^src/', pathNot: '^src/lib/' },
    },
    {
      name: 'config-stands-alone',
      severity: 'error',
      comment: 'Settings import nothing of the project but generic structures (src/lib), such as the resource-indicator rule.',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: ['^src/config/', '^src/lib/'] },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'The rules import no HTTP, no store adapter, no cache, no key files: only themselves, src/lib and the store port.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: ['^src/core/', '^src/lib/', '^src/store/types\\.ts$'] },
    },
    {
      name: 'store-adapters-import-only-the-port',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: '^src/', pathNot: ['^src/store/', '^src/log\\.ts$', '^src/lib/'] },
    },
    {
      name: 'keys-below-the-services',
      severity: 'error',
      from: { path: '^src/keys/' },
      to: { path: '^src/(app|http|cli|cache|clients|store)/|^src/(server|runtime|metrics)\\.ts$' },
    },
    {
      name: 'clients-below-the-services',
      severity: 'error',
      comment: 'Client authentication and registration: no HTTP, no services, no store adapter.',
      from: { path: '^src/clients/' },
      to: { path: '^src/(app|http|cli|cache)/|^src/store/(?!types\\.ts$)|^src/(server|runtime|metrics)\\.ts$' },
    },
    {
      name: 'cache-uses-the-port',
      severity: 'error',
      comment: 'Caches wrap the store port; they never name an adapter (the server passes what a change stream needs).',
      from: { path: '^src/cache/' },
      to: { path: '^src/(app|http|cli|clients|keys)/|^src/store/(?!types\\.ts$|copy\\.ts$)|^src/(server|runtime|metrics)\\.ts$' },
    },
    {
      name: 'services-import-no-adapter',
      severity: 'error',
      comment: 'Application services: no HTTP, no CLI, no cache, no store adapter.',
      from: { path: '^src/app/' },
      to: { path: '^src/(http|cli|cache|keys)/|^src/store/(?!types\\.ts$)|^src/(server|runtime|metrics)\\.ts$' },
    },
    {
      name: 'http-imports-no-store-adapter',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(cli|cache)/|^src/store/(?!types\\.ts$)|^src/(server|runtime)\\.ts$' },
    },
    {
      name: 'cli-imports-no-http',
      severity: 'error',
      comment: 'The CLI calls the application services, never the HTTP layer.',
      from: { path: '^src/cli/' },
      to: { path: '^src/(http|cache)/|^src/server\\.ts$' },
    },
    {
      name: 'nothing-imports-the-entry-points',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/server\\.ts$|^src/cli/main\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
