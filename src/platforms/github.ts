/** GitHub: per repository (then installation, then sender): a repository's events stay together. */
import type { Platform } from './platform';

export const github: Platform = { keyPaths: 'repository.id,installation.id,sender.id', scheme: 'github' };
