import { LookUpCaller } from './look-up-caller.usecase';
import { PopCard } from './pop-card.usecase';
import { PublishCard } from './publish-card.usecase';
import { ResolvePop } from './resolve-pop.usecase';
import { TellRingingLegs } from './tell-ringing-legs.usecase';

export { PopCard };

/** The screen-pop use cases, provided where the screen-pop worker runs (src/queue/workers.module.ts). */
export const SCREEN_POP_PROVIDERS = [PopCard, ResolvePop, TellRingingLegs, PublishCard, LookUpCaller];
