/**
 * The baseline of `npm run bench`: Fastify answering `GET /noop` with `{}` and doing nothing else
 * (no logger, no hooks), on the port given as the first argument. What the machine can serve at best.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/noop', async () => ({}));
// The flash-sale baseline: a POST with a small JSON body, like a claim, parsed and answered.
app.post('/noop', async () => ({}));
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
