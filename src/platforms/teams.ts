/**
 * Microsoft Teams: the sender's Entra object id, else their channel account id. Its deliveries
 * carry a Bot Framework JWT, which this proxy does not verify yet.
 */
import type { Platform } from './platform';

export const teams: Platform = { keyPaths: 'from.aadObjectId,from.id', scheme: undefined };
