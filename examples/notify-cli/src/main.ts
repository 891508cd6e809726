#!/usr/bin/env -S npx tsx --conditions=@duplex/source
import { resolveAdminToken } from './adminToken';
import { notifyHelp, parseNotifyArgs } from './notifyArgs';
import { NotifyCliError, sendNotification } from './sendNotification';

const parsed = parseNotifyArgs(process.argv.slice(2));
if (parsed.kind === 'help') {
  console.log(notifyHelp);
  process.exit(0);
}
if (parsed.kind === 'usage') {
  console.error(`${parsed.message}\nRun with --help for the options.`);
  process.exit(2);
}
const { command } = parsed;
try {
  const { token, source } = resolveAdminToken(command);
  const result = await sendNotification({
    url: command.url,
    token,
    tokenSource: source,
    timeoutMs: command.timeoutMs,
    input: command.input,
  });
  console.log(`sent to ${result.created} (pushed live to ${result.pushed})`);
  const recipients = typeof command.input.to === 'string' ? 1 : new Set(command.input.to).size;
  if (result.created < recipients) {
    console.log(
      `${recipients - result.created} of ${recipients} already had dedupe key "${command.input.dedupeKey}"`,
    );
  }
  process.exit(0);
} catch (error) {
  console.error(
    `duplex-notify: ${error instanceof NotifyCliError || error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
