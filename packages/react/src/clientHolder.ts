import type { DuplexClient, DuplexClientConnection, StatusStore } from '@duplex/client';
import type { TRPCClient } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';

/**
 * A client composed from {@link createDuplexConnection} and `duplexLinks`: the typed client and
 * the connection whose status it reports.
 */
export interface ComposedDuplexClient<TRouter extends AnyRouter> {
  client: TRPCClient<TRouter>;
  connection: DuplexClientConnection;
}

/** What `DuplexProvider` serves: a Duplex client, or a composed one. */
export type DuplexClientSource<TRouter extends AnyRouter> =
  | DuplexClient<TRouter>
  | ComposedDuplexClient<TRouter>;

/** Whether code runs where there is no `window`: server rendering, or Node. */
export const isServer = typeof window === 'undefined';

/** The status the server renders, and the browser's until the client exists. */
export const serverStatus = { state: 'connecting' } as const;

const isComposed = <TRouter extends AnyRouter>(
  source: DuplexClientSource<TRouter>,
): source is ComposedDuplexClient<TRouter> =>
  typeof source === 'object' && source !== null && 'connection' in source && 'client' in source;

/**
 * Holds the client for one `DuplexProvider`: created on first use (never during server
 * rendering, never twice), closed a moment after the last holder lets go, so StrictMode's
 * unmount-and-remount keeps the same socket and a real unmount leaves none open.
 */
export class ClientHolder<TRouter extends AnyRouter> {
  /** The factory, or `null` once the app handed in a client it owns. */
  readonly #create: (() => DuplexClientSource<TRouter>) | null;
  /** The client, once created (or handed in). */
  #source: DuplexClientSource<TRouter> | null;
  /** Mounted providers holding it. */
  #holders = 0;
  /** The close scheduled after the last release, until a new holder cancels it. */
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Stopped for good: a later use is a bug in the app. */
  #closed = false;
  /** What `TRPCProvider` gets: every property read is forwarded to the client, created then. */
  readonly client: TRPCClient<TRouter>;
  /** The connection status, read and subscribed without creating anything on the server. */
  readonly status: StatusStore;

  constructor(client: DuplexClientSource<TRouter> | (() => DuplexClientSource<TRouter>)) {
    this.#create = typeof client === 'function' && !isClientProxy(client) ? client : null;
    this.#source = this.#create ? null : (client as DuplexClientSource<TRouter>);
    // A function target, because tRPC's typed client is itself a callable proxy.
    this.client = new Proxy((() => undefined) as unknown as TRPCClient<TRouter>, {
      get: (_target, prop) => Reflect.get(this.#typed(), prop),
      has: (_target, prop) => Reflect.has(this.#typed(), prop),
    });
    this.status = {
      // Reading never creates the client: a render React throws away (Suspense, StrictMode,
      // concurrent rendering) would leave its socket open. Subscribing runs after the commit.
      get: () => (isServer || !this.#source ? serverStatus : this.#statusStore().get()),
      subscribe: (listener) =>
        isServer ? () => undefined : this.#statusStore().subscribe(listener),
    };
  }

  /** A provider mounted: cancels a close scheduled by StrictMode's simulated unmount. */
  retain(): void {
    this.#holders++;
    clearTimeout(this.#closeTimer);
  }

  /** A provider unmounted: closes the client it created once no provider holds it. */
  release(): void {
    this.#holders--;
    if (this.#holders > 0 || !this.#create) return;
    clearTimeout(this.#closeTimer);
    this.#closeTimer = setTimeout(() => {
      this.#closed = true;
      const source = this.#source;
      this.#source = null;
      if (source) void closeSource(source);
    }, 0);
  }

  #get(): DuplexClientSource<TRouter> {
    if (this.#source) return this.#source;
    if (isServer)
      throw new Error(
        'Duplex: the client is not available during server rendering; call procedures in effects or event handlers',
      );
    if (this.#closed || !this.#create)
      throw new Error('Duplex: this client was closed when its DuplexProvider unmounted');
    this.#source = this.#create();
    return this.#source;
  }

  #typed(): TRPCClient<TRouter> {
    const source = this.#get();
    return isComposed(source) ? source.client : source;
  }

  #statusStore(): StatusStore {
    const source = this.#get();
    return isComposed(source) ? source.connection.status : source.$status;
  }
}

/** A Duplex client is a callable proxy too; it is told apart from a factory by `$status`. */
function isClientProxy(value: unknown): boolean {
  return typeof (value as { $status?: { get?: unknown } }).$status?.get === 'function';
}

function closeSource(source: DuplexClientSource<AnyRouter>): Promise<void> {
  return isComposed(source) ? source.connection.close() : source.$close();
}
