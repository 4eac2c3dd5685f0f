/** Zoom: the chatbot user (payload.userId), else the operator of a Team Chat event. */
import type { Platform } from './platform';

export const zoom: Platform = { keyPaths: 'payload.userId,payload.operator_id', scheme: 'zoom' };
