/**
 * A Zoom Team Chat bot on @zoom/rivet, as a team would write it: Rivet's own HTTP receiver
 * (/zoom/events) checks x-zm-signature over the timestamp and the body. Prints one JSON line per
 * handled bot_notification (a person's message to the bot).
 *
 *   node zoom-rivet.js <port> <instance name>   (ZOOM_WEBHOOK_SECRET)
 */
import { ChatbotClient, LogLevel } from '@zoom/rivet/chatbot';

async function main(): Promise<void> {
  const [port, instance] = process.argv.slice(2);
  // No Zoom to ask: the client's credentials are only used when the bot calls Zoom's API.
  const client = new ChatbotClient({
    clientId: 'framework-test',
    clientSecret: 'framework-test',
    webhooksSecretToken: process.env.ZOOM_WEBHOOK_SECRET ?? '',
    port: Number(port),
    logLevel: LogLevel.ERROR,
  });
  client.webEventConsumer?.event('bot_notification', ({ payload }) => {
    process.stdout.write(`${JSON.stringify({ instance, person: payload.userId, text: payload.cmd })}\n`);
  });
  await client.start();
  process.stdout.write(`ready ${port}\n`);
}

void main();
