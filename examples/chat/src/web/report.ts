import { createContext, useCallback, useContext, useEffect, useState } from 'react';

/** How a component shows a failure: in the page's error banner. */
export interface Reporter {
  /** Shows `error` in the banner. */
  report: (error: unknown) => void;
  /** Runs `action`: a success clears the banner, a failure shows in it. */
  run: (action: () => Promise<unknown>) => Promise<void>;
}

export const ReportContext = createContext<Reporter | null>(null);

/** The nearest error banner. */
export function useReporter(): Reporter {
  const reporter = useContext(ReportContext);
  if (!reporter) throw new Error('useReporter() must be used inside ReportContext');
  return reporter;
}

/** The error banner's state and its reporter. */
export function useErrorBanner(): Reporter & { error: string | null } {
  const [error, setError] = useState<string | null>(null);
  const report = useCallback((failure: unknown) => {
    setError(failure instanceof Error ? failure.message : String(failure));
  }, []);
  const run = useCallback(
    async (action: () => Promise<unknown>) => {
      try {
        await action();
        setError(null);
      } catch (failure) {
        report(failure);
      }
    },
    [report],
  );
  return { error, report, run };
}

/** Shows an error a hook holds, once each time it changes. */
export function useReportError(report: (error: unknown) => void, error: Error | null): void {
  useEffect(() => {
    if (error) report(error);
  }, [error, report]);
}
