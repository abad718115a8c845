import type { ExecutionContext } from 'ava';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import type { HttpApp } from '../../src/http/app.js';
import type { Response } from 'supertest';
import { openApiDocument } from '../../src/http/openapi.js';

type Json = Record<string, unknown>;

// ajv-formats is CommonJS; its default export arrives as the module object under NodeNext.
const addFormats = ((formatsModule as unknown as { default?: typeof formatsModule }).default ?? formatsModule) as unknown as (ajv: Ajv2020) => void;

const DOC_ID = 'https://open-login.invalid/openapi.json';

/** JSON pointer escaping (RFC 6901 §4). */
const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * Validates real answers against the OpenAPI document: the operation must
 * list the status, and the body must match the schema of its media type.
 */
export class Conformance {
  readonly doc: Json;
  private readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(doc: Json = openApiDocument()) {
    this.doc = doc;
    // strict: false because the document is an OpenAPI document, not a schema; only parts are schemas.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...doc, $id: DOC_ID });
  }

  /** The response object (with $refs followed) and the pointer it was found at. */
  response(method: string, path: string, status: number | string): { def: Json; pointer: string } | undefined {
    const paths = this.doc.paths as Record<string, Json>;
    const op = paths[path]?.[method.toLowerCase()] as Json | undefined;
    const def = (op?.responses as Record<string, Json> | undefined)?.[String(status)];
    if (!def) return undefined;
    return this.follow(def, `/paths/${escape(path)}/${method.toLowerCase()}/responses/${status}`);
  }

  /** A response from `#/components/responses`, for answers that belong to no operation (404, 405). */
  componentResponse(name: string): { def: Json; pointer: string } {
    const def = (this.doc.components as { responses: Record<string, Json> }).responses[name]!;
    return this.follow(def, `/components/responses/${name}`);
  }

  private follow(def: Json, pointer: string): { def: Json; pointer: string } {
    const target = def.$ref;
    if (typeof target !== 'string') return { def, pointer };
    const parts = target.replace(/^#\//, '').split('/');
    let node: unknown = this.doc;
    for (const part of parts) node = (node as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    return this.follow(node as Json, target.slice(1));
  }

  /** The request body schema of an operation, as a pointer for `errors`; undefined when the operation has none of this media type. */
  requestSchema(method: string, path: string, mediaType: string): string | undefined {
    const op = (this.doc.paths as Record<string, Json>)[path]?.[method.toLowerCase()] as Json | undefined;
    const content = (op?.requestBody as { content?: Record<string, Json> } | undefined)?.content;
    if (!content?.[mediaType]?.schema) return undefined;
    return `/paths/${escape(path)}/${method.toLowerCase()}/requestBody/content/${escape(mediaType)}/schema`;
  }

  /** Errors (empty when valid) of `value` against the schema at `pointer` in the document. */
  errors(pointer: string, value: unknown): string[] {
    let validate = this.validators.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
      this.validators.set(pointer, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
  }

  /** Asserts that a real answer is documented for this operation and matches its schema. */
  check(t: ExecutionContext, method: string, path: string, res: Response): void {
    const found = this.response(method, path, res.status);
    if (!found) {
      t.fail(`${method.toUpperCase()} ${path} answered ${res.status}, which the document does not list`);
      return;
    }
    this.checkAgainst(t, `${method.toUpperCase()} ${path} ${res.status}`, found, res);
  }

  checkAgainst(t: ExecutionContext, label: string, found: { def: Json; pointer: string }, res: Response): void {
    const content = found.def.content as Record<string, Json> | undefined;
    const mediaType = (res.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (!content) {
      t.is(res.text ?? '', '', `${label}: documented without a body but has one`);
      return;
    }
    t.true(mediaType in content, `${label}: media type ${mediaType} is not documented`);
    const isJson = /[/+]json$/.test(mediaType);
    const body: unknown = isJson ? JSON.parse(res.text) : res.text;
    const errors = this.errors(`${found.pointer}/content/${escape(mediaType)}/schema`, body);
    t.deepEqual(errors, [], `${label}: ${JSON.stringify(body).slice(0, 300)}`);
    t.truthy(res.headers['x-request-id'], `${label}: X-Request-Id`);
  }
}

/** Every (method, path) the app routes, in OpenAPI path syntax; HEAD is implied by GET. */
export function appRoutes(app: HttpApp): Set<string> {
  return new Set(app.routes().map((route) => route.replace(/:([A-Za-z_]+)/g, '{$1}')));
}
