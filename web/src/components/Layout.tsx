import {
  ActionIcon,
  AppShell,
  Avatar,
  Burger,
  Group,
  Menu,
  NavLink,
  ScrollArea,
  Text,
  Tooltip,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { Permission } from '@opsdesk/contracts';
import {
  IconChevronDown,
  IconFileStack,
  IconGauge,
  IconLogout,
  IconMoon,
  IconServer2,
  IconSettings,
  IconShieldCheck,
  IconSun,
  IconUserCircle,
  IconUsers,
} from '@tabler/icons-react';
import { Suspense, type ReactNode } from 'react';
import { Link, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { Permissions, useAuth } from '../auth/AuthProvider';
import { RoleBadge } from './badges';
import { OfflineBanner } from './OfflineBanner';
import { TableSkeleton } from './states';

interface NavItem {
  to: string;
  label: string;
  icon: ReactNode;
  permission: Permission;
}

const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', icon: <IconGauge size={18} />, permission: Permissions.HOSTS_READ },
  { to: '/hosts', label: 'Hosts', icon: <IconServer2 size={18} />, permission: Permissions.HOSTS_READ },
  {
    to: '/artifacts',
    label: 'Artifacts',
    icon: <IconFileStack size={18} />,
    permission: Permissions.HOSTS_READ,
  },
  { to: '/audit', label: 'Audit', icon: <IconShieldCheck size={18} />, permission: Permissions.AUDIT_READ },
  { to: '/users', label: 'Users', icon: <IconUsers size={18} />, permission: Permissions.USERS_READ },
  { to: '/settings', label: 'Settings', icon: <IconSettings size={18} />, permission: Permissions.SELF },
];

export function ColorSchemeToggle() {
  const { setColorScheme } = useMantineColorScheme();
  const computed = useComputedColorScheme('light');
  const next = computed === 'dark' ? 'light' : 'dark';
  return (
    <Tooltip label={`Switch to ${next} theme`}>
      <ActionIcon
        variant="default"
        size="lg"
        aria-label={`Switch to ${next} theme`}
        onClick={() => setColorScheme(next)}
        data-testid="color-scheme-toggle"
      >
        {computed === 'dark' ? <IconSun size={18} /> : <IconMoon size={18} />}
      </ActionIcon>
    </Tooltip>
  );
}

export function Logo() {
  return (
    <Group gap={8} wrap="nowrap">
      <svg width="28" height="28" viewBox="0 0 32 32" aria-hidden="true">
        <rect width="32" height="32" rx="7" fill="var(--mantine-color-indigo-6)" />
        <path d="M9 11h14M9 16h14M9 21h9" stroke="#fff" strokeWidth="2.6" strokeLinecap="round" />
      </svg>
      <Text fw={700} size="lg">
        OpsDesk
      </Text>
    </Group>
  );
}

export function Layout() {
  const [opened, { toggle, close }] = useDisclosure();
  const { me, can, signOut } = useAuth();
  const loc = useLocation();
  const navigate = useNavigate();
  const active = (to: string) => (to === '/' ? loc.pathname === '/' : loc.pathname.startsWith(to));

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 232, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="lg"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
            />
            <UnstyledButton component={Link} to="/" aria-label="OpsDesk home">
              <Logo />
            </UnstyledButton>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <ColorSchemeToggle />
            <Menu position="bottom-end" width={240} withinPortal>
              <Menu.Target>
                <UnstyledButton data-testid="user-menu" aria-label="Account">
                  <Group gap={8} wrap="nowrap">
                    <Avatar radius="xl" size={32} color="indigo">
                      {me?.email.slice(0, 2).toUpperCase()}
                    </Avatar>
                    <Text size="sm" fw={500} visibleFrom="md" data-testid="user-email">
                      {me?.email}
                    </Text>
                    <IconChevronDown size={14} />
                  </Group>
                </UnstyledButton>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Label>
                  <Group justify="space-between">
                    <span>Signed in as</span>
                    {me && <RoleBadge value={me.role} />}
                  </Group>
                </Menu.Label>
                <Menu.Item leftSection={<IconUserCircle size={16} />} component={Link} to="/profile">
                  Profile, MFA and API tokens
                </Menu.Item>
                <Menu.Divider />
                <Menu.Item
                  color="red"
                  leftSection={<IconLogout size={16} />}
                  data-testid="sign-out"
                  onClick={() => {
                    void signOut().then(() => navigate('/login', { replace: true }));
                  }}
                >
                  Sign out
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm">
        <AppShell.Section grow component={ScrollArea}>
          {NAV.filter((n) => can(n.permission)).map((n) => (
            <NavLink
              key={n.to}
              component={Link}
              to={n.to}
              label={n.label}
              leftSection={n.icon}
              active={active(n.to)}
              onClick={close}
              variant="light"
              style={{ borderRadius: 8 }}
              mb={2}
              data-testid={`nav-${n.label.toLowerCase()}`}
            />
          ))}
        </AppShell.Section>
        <AppShell.Section>
          <NavLink
            component={Link}
            to="/profile"
            label="Profile"
            leftSection={<IconUserCircle size={18} />}
            active={active('/profile')}
            onClick={close}
            style={{ borderRadius: 8 }}
            data-testid="nav-profile"
          />
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>
        <OfflineBanner />
        <Suspense fallback={<TableSkeleton />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}
