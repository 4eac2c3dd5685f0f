/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:" + X-Slack-Request-Timestamp + ":" + body>`
 * with the app's signing secret (api.slack.com, "Verifying requests from Slack"); Slack's own
 * SDKs refuse timestamps more than five minutes away.
 */
import { timestampedHmac } from './timestamped-hmac';

export const slack = timestampedHmac('X-Slack-Signature', 'X-Slack-Request-Timestamp');
