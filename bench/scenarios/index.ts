import type { Scenario } from '../lib/scenario';
import { artifacts } from './artifacts';
import { durability } from './durability';
import { events } from './events';
import { footprint } from './footprint';
import { gatewayHop } from './gateway-hop';
import { hostList } from './host-list';
import { hostWrites } from './host-writes';
import { importScenario } from './import';
import { login } from './login';

/** Every scenario of `npm run bench`, in run order. */
export const SCENARIOS: Scenario[] = [gatewayHop, hostWrites, hostList, importScenario, events, artifacts, login, footprint, durability];
