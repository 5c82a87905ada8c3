import { Module } from '@nestjs/common';
import { KeysModule } from '../keys/keys.module';
import { RevocationModule } from '../revocation/revocation.module';
import { SessionsService } from './sessions.service';

@Module({
  imports: [
    RevocationModule,
    // access tokens are signed with AccessTokenKeys (EdDSA or HS*), not @nestjs/jwt: jsonwebtoken 9 has no EdDSA
    KeysModule,
  ],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}
