/**
 * The keeper's metrics: each platform's registration state, what was put right, and the
 * figures the platforms report (Telegram's pending updates and last error, GitHub's
 * redeliveries).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KeeperReport } from './platform';

export function keeperMetrics(registry: Registry): (report: KeeperReport) => void {
  const registered = new Gauge({
    name: 'webhook_affinity_keeper_registered',
    help: "The keeper: 1 when the platform's webhook was as it should be (or put right) at the last check, 0 when the check failed",
    labelNames: ['platform'],
    registers: [registry],
  });
  const repairs = new Counter({
    name: 'webhook_affinity_keeper_repairs_total',
    help: 'The keeper: registrations put right (a Webex webhook created or re-activated, a Telegram webhook set again, a GitHub delivery asked for again)',
    labelNames: ['platform'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'webhook_affinity_keeper_failures_total',
    help: "The keeper: checks whose API calls failed (the API's answer is in the event line)",
    labelNames: ['platform'],
    registers: [registry],
  });
  const pending = new Gauge({ name: 'webhook_affinity_telegram_pending_updates', help: "Telegram's pending_update_count: updates it holds, not yet delivered", registers: [registry] });
  const errorAge = new Gauge({
    name: 'webhook_affinity_telegram_last_error_age_seconds',
    help: "How long ago Telegram's last delivery to the webhook failed (last_error_date)",
    registers: [registry],
  });
  const errorInfo = new Gauge({
    name: 'webhook_affinity_telegram_last_error_info',
    help: "Telegram's last_error_message, as a label (1 while it is the latest)",
    labelNames: ['message'],
    registers: [registry],
  });
  const redeliveries = new Counter({ name: 'webhook_affinity_github_redeliveries_total', help: 'GitHub deliveries the keeper asked GitHub to deliver again', registers: [registry] });
  const unrecovered = new Gauge({
    name: 'webhook_affinity_github_unrecovered_deliveries',
    help: 'GitHub deliveries of the last 3 days that failed and were not delivered since',
    registers: [registry],
  });
  const oldest = new Gauge({
    name: 'webhook_affinity_github_oldest_unrecovered_age_seconds',
    help: 'Age of the oldest GitHub delivery that failed and was not delivered since (0: none)',
    registers: [registry],
  });

  return (report) => {
    const platform = report.platform;
    registered.set({ platform }, report.state === 'failing' ? 0 : 1);
    if (report.state === 'failing') failures.inc({ platform });
    if (report.changes.length > 0) repairs.inc({ platform }, report.changes.length);
    const f = report.figures;
    if (platform === 'telegram' && report.state !== 'failing') {
      pending.set(f.pending_updates ?? 0);
      errorAge.set(f.last_error_age_seconds ?? 0);
      errorInfo.reset();
      if (report.lastError !== undefined) errorInfo.set({ message: report.lastError.slice(0, 200) }, 1);
    }
    if (platform === 'github') {
      redeliveries.inc(f.redeliveries_asked ?? 0);
      if (report.state !== 'failing') {
        unrecovered.set(f.unrecovered ?? 0);
        oldest.set(f.unrecovered === 0 ? 0 : (f.oldest_unrecovered_age_seconds ?? 0));
      }
    }
  };
}
