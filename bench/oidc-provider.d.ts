/** The few members of oidc-provider (shipped without types) that the benchmark uses. */
declare module 'oidc-provider' {
  interface Saved {
    save(): Promise<string>;
  }
  class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    Client: { find(id: string): Promise<unknown> };
    Grant: new (fields: Record<string, unknown>) => Saved & { addOIDCScope(scope: string): void };
    AccessToken: new (fields: Record<string, unknown>) => Saved;
    listen(port: number, host: string): unknown;
  }
  export default Provider;
}
