/**
 * Zoom: `x-zm-signature: v0=<hex HMAC-SHA256 of "v0:" + x-zm-request-timestamp + ":" + body>` with
 * the app's secret token (developers.zoom.us, "Using webhooks", Verify webhook events).
 */
import { timestampedHmac } from './timestamped-hmac';

export const zoom = timestampedHmac('x-zm-signature', 'x-zm-request-timestamp');
