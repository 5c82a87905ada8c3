import { Module } from '@nestjs/common';
import { SettingsController } from './settings.controller';

/** HTTP routes for /api/settings, mapped to inventory RPCs. */
@Module({ controllers: [SettingsController] })
export class SettingsModule {}
