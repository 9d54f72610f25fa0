import { AlreadyLogged } from './already-logged.usecase';
import { CallCrm } from './call-crm';
import { ClaimCall } from './claim-call.usecase';
import { CrmWriteGuard } from './crm-write-guard.usecase';
import { FindCallToLog } from './find-call-to-log.usecase';
import { FinishLoggedCall } from './finish-logged-call.usecase';
import { FollowUpMissedCall } from './follow-up-missed-call.usecase';
import { LogCall } from './log-call.usecase';
import { LogLedger } from './log-ledger';
import { LogOutcomes } from './log-outcomes';
import { LoggedCallCards } from './logged-call-cards';
import { UpdateCallWithWrapUp } from './update-call-with-wrap-up.usecase';
import { UpdateLoggedCall } from './update-logged-call.usecase';
import { WrapUpWindow } from './wrap-up-window.usecase';
import { WriteCallActivity } from './write-call-activity.usecase';

export { LogCall, UpdateCallWithWrapUp };
export * from './call-to-log';

/** The call-log use cases and their helpers, provided where the call-log worker runs (src/queue/workers.module.ts). */
export const CALL_LOG_PROVIDERS = [
  LogCall,
  UpdateCallWithWrapUp,
  FindCallToLog,
  ClaimCall,
  AlreadyLogged,
  WrapUpWindow,
  CrmWriteGuard,
  WriteCallActivity,
  FinishLoggedCall,
  UpdateLoggedCall,
  FollowUpMissedCall,
  LogLedger,
  LogOutcomes,
  LoggedCallCards,
  CallCrm,
];
