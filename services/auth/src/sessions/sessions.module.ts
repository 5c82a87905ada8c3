import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';
import { RevocationModule } from '../revocation/revocation.module';
import { SessionsService } from './sessions.service';

@Module({
  imports: [
    RevocationModule,
    JwtModule.registerAsync({
      inject: [AUTH_CONFIG],
      useFactory: (c: AuthConfig) => ({ secret: c.JWT_SECRET, signOptions: { algorithm: c.JWT_ALGORITHM } }),
    }),
  ],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}
