import { Module } from '@nestjs/common';

/** HTTP routes for /api/settings, mapped to RPCs of the owning service (filled in by its issue). */
@Module({ controllers: [] })
export class SettingsModule {}
