import { ApiToken } from '../tokens/api-token.entity';
import { RecoveryCode } from '../mfa/recovery-code.entity';
import { RefreshToken } from '../sessions/refresh-token.entity';
import { Session } from '../sessions/session.entity';
import { User } from '../users/user.entity';

export const authEntities = [User, Session, RefreshToken, RecoveryCode, ApiToken];
