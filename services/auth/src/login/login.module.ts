import { Module } from '@nestjs/common';
import { MfaModule } from '../mfa/mfa.module';
import { SecurityModule } from '../security/security.module';
import { SessionsModule } from '../sessions/sessions.module';
import { LoginController } from './login.controller';
import { LoginService } from './login.service';

@Module({ imports: [SecurityModule, SessionsModule, MfaModule], controllers: [LoginController], providers: [LoginService] })
export class LoginModule {}
