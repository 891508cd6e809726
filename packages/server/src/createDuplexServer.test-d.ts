import type { Tracer } from '@opentelemetry/api';
import { Registry } from 'prom-client';
import { describe, expectTypeOf, it } from 'vitest';
import { createDuplexServer, type DuplexServerOptions } from './createDuplexServer';
import { initDuplex } from './initDuplex';
import type { DuplexConnectionInfo, DuplexNodeStats } from './inspection';
import type { DuplexLogger } from './logger';

const duplex = initDuplex<{ id: string }>();
const router = duplex.router({ ping: duplex.procedure.query(() => 'pong') });
type Options = DuplexServerOptions<typeof router>;
declare const tracer: Tracer;

describe('createDuplexServer operations options', () => {
  it('takes a pino-shaped logger, a prom-client registry, an OpenTelemetry tracer and a node id', () => {
    const logger: DuplexLogger = console as unknown as DuplexLogger;
    const server = createDuplexServer({
      router,
      authenticate: () => ({ user: { id: 'u1' } }),
      logger,
      nodeId: 'node-a',
      registry: new Registry(),
      processMetrics: false,
      tracing: { tracer, recordUserId: true },
    });
    expectTypeOf(server.registry).toEqualTypeOf<Registry>();
    expectTypeOf(server.inspector.stats()).toEqualTypeOf<DuplexNodeStats>();
    expectTypeOf(server.inspector.connections({ limit: 10 })).toEqualTypeOf<
      DuplexConnectionInfo[]
    >();
    expectTypeOf(server.inspector.disconnect).parameters.toEqualTypeOf<
      [connectionId: string, opts?: { by?: string }]
    >();
  });

  it('refuses what is not a logger, a registry or a tracer', () => {
    // @ts-expect-error a logger needs error/warn/info/debug
    const badLogger: Options['logger'] = { error: () => {} };
    // @ts-expect-error the registry is prom-client's
    const badRegistry: Options['registry'] = { metrics: () => '' };
    // @ts-expect-error tracing takes { tracer }, not a tracer
    const badTracing: Options['tracing'] = tracer;
    expectTypeOf([badLogger, badRegistry, badTracing]).not.toBeNever();
  });
});
