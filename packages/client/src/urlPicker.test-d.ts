import type { AnyRouter } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { DuplexClientOptions } from './clientOptions';
import { createDuplexClient } from './createDuplexClient';
import type { DuplexUrl, DuplexUrlContext } from './urlPicker';

describe('the url option', () => {
  it('takes one endpoint, several, or a function of the attempt', () => {
    createDuplexClient<AnyRouter>({ url: 'ws://a:3000/trpc' });
    createDuplexClient<AnyRouter>({ url: ['ws://a:3000/trpc', 'ws://b:3000/trpc'] });
    const nodes = ['ws://a:3000/trpc', 'ws://b:3000/trpc'] as const;
    createDuplexClient<AnyRouter>({ url: nodes });
    createDuplexClient<AnyRouter>({
      url: ({ connection, previousUrl }) => {
        expectTypeOf(connection).toEqualTypeOf<number>();
        expectTypeOf(previousUrl).toEqualTypeOf<string | null>();
        return nodes[connection % nodes.length]!;
      },
    });
    createDuplexClient<AnyRouter>({ url: async () => 'ws://a:3000/trpc' });
    expectTypeOf<DuplexClientOptions['url']>().toEqualTypeOf<DuplexUrl>();
    expectTypeOf<
      Parameters<Extract<DuplexUrl, (c: DuplexUrlContext) => unknown>>[0]
    >().toEqualTypeOf<DuplexUrlContext>();
  });

  it('refuses anything else', () => {
    // @ts-expect-error a port alone is not an endpoint
    createDuplexClient<AnyRouter>({ url: 3000 });
    // @ts-expect-error the function must return a URL
    createDuplexClient<AnyRouter>({ url: () => 3000 });
    // @ts-expect-error a URL object is not accepted: pass its string
    createDuplexClient<AnyRouter>({ url: new URL('ws://a:3000/trpc') });
  });
});
