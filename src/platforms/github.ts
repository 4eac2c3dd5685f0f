/** GitHub: per repository (then installation, then sender): a repository's events stay together. */
import type { Platform } from './platform';

export const github: Platform = {
  keyPaths: 'repository.id,installation.id,sender.id',
  scheme: 'github',
  // A redelivery (by hand, or by the API) keeps X-GitHub-Delivery.
  resends: true,
  deliveryId: (headers) => (typeof headers['x-github-delivery'] === 'string' ? headers['x-github-delivery'] : undefined),
};
