/**
 * A Telegram bot on grammY, as a team would write it: grammY's own webhook handler checks the
 * secret token; each message is answered with a webhook reply (the sendMessage call in the HTTP
 * answer) where grammY can, else through the Bot API at TELEGRAM_API_URL. Prints one JSON line
 * per handled message.
 *
 *   node telegram-grammy.js <port> <instance name>   (TELEGRAM_SECRET, TELEGRAM_API_URL)
 */
import http from 'node:http';
import { Bot, webhookCallback } from 'grammy';

function main(): void {
  const [port, instance] = process.argv.slice(2);
  const bot = new Bot('123456:FRAMEWORK-TEST', {
    // Known already: grammY would otherwise ask getMe at start.
    botInfo: {
      id: 123456,
      is_bot: true,
      first_name: 'Test',
      username: 'framework_test_bot',
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
      has_topics_enabled: false,
      allows_users_to_create_topics: false,
      can_manage_bots: false,
      supports_join_request_queries: false,
    },
    client: { apiRoot: process.env.TELEGRAM_API_URL ?? '', canUseWebhookReply: (method) => method === 'sendMessage' },
  });
  bot.on('message:text', async (ctx) => {
    process.stdout.write(`${JSON.stringify({ instance, person: String(ctx.from.id), text: ctx.message.text })}\n`);
    await ctx.reply(`${instance} got ${ctx.message.text}`);
  });
  const handle = webhookCallback(bot, 'http', { secretToken: process.env.TELEGRAM_SECRET ?? '' });
  http.createServer((req, res) => void handle(req, res)).listen(Number(port), '127.0.0.1', () => process.stdout.write(`ready ${port}\n`));
}

main();
