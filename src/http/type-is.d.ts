/** The part of type-is (shipped without types) that the HTTP layer uses. */
declare module 'type-is' {
  import type { IncomingMessage } from 'node:http';
  /** The first of `types` the request's body matches; false: none; null: the request has no body. */
  function typeis(req: IncomingMessage, types: string[]): string | false | null;
  namespace typeis {
    /** Whether the request has a body (Transfer-Encoding or a Content-Length). */
    function hasBody(req: IncomingMessage): boolean;
  }
  export default typeis;
}
