import { Module } from '@nestjs/common';
import { RevocationModule } from '../revocation/revocation.module';
import { SecurityModule } from '../security/security.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({ imports: [SecurityModule, SessionsModule, RevocationModule], controllers: [UsersController], providers: [UsersService], exports: [UsersService] })
export class UsersModule {}
