/**
 * Request validation with Ajv, strict where it matters: JSON bodies are never coerced ("5" is
 * not 5) and unknown body fields are rejected rather than silently dropped; path parameters,
 * query strings and headers (always strings on the wire) are coerced to the schema's types.
 * All errors of a request are reported at once, each naming its field.
 */
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

function makeAjv(options: Options) {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    useDefaults: true,
    removeAdditional: false,
    ...options,
  });
  addFormats.default(ajv);
  return ajv;
}

/** The validator compiler of every route (plugin `stampede-validation`). */
export const validation = fp(
  async (app: FastifyInstance) => {
    const bodies = makeAjv({ coerceTypes: false });
    const strings = makeAjv({ coerceTypes: 'array' });
    app.setValidatorCompiler(({ schema, httpPart }) =>
      (httpPart === 'body' ? bodies : strings).compile(schema as object),
    );
  },
  { name: 'stampede-validation' },
);
