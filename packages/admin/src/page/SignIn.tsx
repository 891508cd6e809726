import { DuplexClientError } from '@duplex/client';
import { useEffect, useRef, useState } from 'react';
import { type AdminClient, createAdminClient, type PageConfig } from './adminClient';

/** Where the token is kept: this tab only, gone when it closes. */
export const tokenKey = 'duplex-admin:token';

/** Who the server says the operator is. */
export interface Operator {
  userId: string;
  /** The node that answered, or `null` if the admin is not attached to one. */
  nodeId: string | null;
}

/** How long sign-in waits for the server before saying it cannot reach it. */
const signInTimeoutMs = 15_000;

/** Why a sign-in failed, in words for the operator. */
export function refusalOf(err: unknown): string {
  const code = err instanceof DuplexClientError ? err.code : null;
  if (code === 'FORBIDDEN') return 'Access denied: this token does not belong to an operator.';
  if (code === 'UNAUTHORIZED') return 'The server refused this token.';
  if (code === 'NOT_FOUND') return 'This server has no admin router at the configured path.';
  return `Could not sign in: ${(err as Error).message || 'the server did not answer'}`;
}

/** Opens a client with `token` and asks `whoami`; closes the client again if it is refused. */
async function signIn(config: PageConfig, token: string) {
  const admin = createAdminClient(config, token);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const me = await Promise.race([
      admin.api.whoami.query(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the server did not answer')), signInTimeoutMs);
      }),
    ]);
    return { admin, me };
  } catch (err) {
    await admin.client.$close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The only thing shown until `whoami` succeeds: a token field. A token kept from earlier in
 * this tab is tried at once.
 */
export function SignIn(props: {
  config: PageConfig;
  message: string | null;
  onSignedIn: (admin: AdminClient, me: Operator) => void;
}) {
  const { config, onSignedIn } = props;
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState(props.message);

  const submit = async (value: string) => {
    setBusy(true);
    setMessage(null);
    try {
      const { admin, me } = await signIn(config, value);
      sessionStorage.setItem(tokenKey, value);
      onSignedIn(admin, me);
    } catch (err) {
      sessionStorage.removeItem(tokenKey);
      setMessage(refusalOf(err));
      setBusy(false);
    }
  };

  // Once, on the kept token: StrictMode runs effects twice, which would open two clients and
  // leave one of them connected for the life of the page.
  const triedKept = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on the kept token.
  useEffect(() => {
    if (triedKept.current) return;
    triedKept.current = true;
    const kept = sessionStorage.getItem(tokenKey);
    if (kept && !props.message) void submit(kept);
  }, []);

  return (
    <main className="signin">
      <form
        className="signin-card"
        onSubmit={(e) => {
          e.preventDefault();
          if (token) void submit(token);
        }}
      >
        <div className="logo" aria-hidden="true">
          D
        </div>
        <h1>Duplex Admin</h1>
        <p className="signin-lead">
          Sign in with an operator token to see this server's live state.
        </p>
        <label htmlFor="admin-token" className="field-label">
          Operator token
        </label>
        <input
          id="admin-token"
          type="password"
          autoComplete="current-password"
          // biome-ignore lint/a11y/noAutofocus: the page's one field; nothing else to do here.
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy || !token}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {message && (
          <p className="signin-error" role="alert">
            {message}
          </p>
        )}
      </form>
    </main>
  );
}
