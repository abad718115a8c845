// `npm run test:gateways`: each integration guide run in front of the real
// product (test/gateways/*.gateway.ts). The products are built by
// .ci/gateways/*.sh into ~/.cache/open-login/gateways before this runs.
export default {
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  files: ['test/gateways/**/*.gateway.ts'],
  // A product's first start (a JVM, say) is slow on a shared 2-core machine.
  timeout: '5m',
  workerThreads: false,
  // One product at a time: the JVMs and builds would fight for two cores.
  concurrency: 1,
};
