import type { z } from 'zod';
import { InvalidRequest } from '../errors.js';

/**
 * The one place a schema's refusal becomes an `error_description`: the
 * field and the problem in plain words ("expires_in: must be a whole
 * number"), never the schema library's own text ("Invalid input: expected
 * int, received number") and never the value sent, which may be a token.
 * The admin API and the validation endpoint parse with this.
 */

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

const TYPE_WORDS: Record<string, string> = {
  object: 'a JSON object',
  array: 'a JSON array',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** What is wrong, for an issue whose schema gave no words of its own. */
function problem(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${TYPE_WORDS[issue.expected] ?? article(issue.expected)}`;
    case 'too_small': {
      const min = String(issue.minimum);
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at least ${min} items`;
      return issue.inclusive === false ? `must be greater than ${min}` : `must be at least ${min}`;
    }
    case 'too_big': {
      const max = String(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${max} items`;
      return issue.inclusive === false ? `must be less than ${max}` : `must be at most ${max}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return 'is not in the expected format';
    case 'invalid_union':
      return 'matches none of the accepted forms';
    case 'unrecognized_keys':
      return 'has fields that are not known';
    default:
      return 'is not valid';
  }
}

/**
 * The first issue as one sentence. A field is named by its path
 * (`site_ids.2`); an issue with the value itself names `subject`.
 */
function sentence(issue: z.core.$ZodIssue, subject: string): string {
  if (issue.path.length > 0) return `${issue.path.map(String).join('.')}: ${issue.message}`;
  return /^(must|is|has|matches) /.test(issue.message) ? `${subject} ${issue.message}` : issue.message;
}

/**
 * Parses `value` with `schema`, or throws `InvalidRequest` (400
 * `invalid_request`, RFC 6749 §5.2) saying what is wrong in plain words.
 * `subject` names the value as a whole: "the body", "the customer id".
 */
export function parseOrRefuse<T>(schema: z.ZodType<T>, value: unknown, subject = 'the body'): T {
  const result = schema.safeParse(value, { error: problem });
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new InvalidRequest(first ? sentence(first, subject) : `${subject} is not valid`);
}
