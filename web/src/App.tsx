import { MantineProvider, localStorageColorSchemeManager } from '@mantine/core';
import { ModalsProvider } from '@mantine/modals';
import { Notifications } from '@mantine/notifications';
import { QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { AuthProvider, Permissions } from './auth/AuthProvider';
import { RequireAuth, RequirePermission } from './auth/RequireAuth';
import { Layout } from './components/Layout';
import { TableSkeleton } from './components/states';
import { DashboardPage } from './pages/DashboardPage';
import { HostsPage } from './pages/HostsPage';
import { SignInPage } from './pages/SignInPage';
import { createQueryClient } from './queryClient';
import { theme } from './theme';

// Pages away from the first screen load on demand: the host list renders without their code.
const HostDetailPage = lazy(() => import('./pages/HostDetailPage'));
const ArtifactsPage = lazy(() => import('./pages/ArtifactsPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));
const UsersPage = lazy(() => import('./pages/UsersPage'));
const ProfilePage = lazy(() => import('./pages/ProfilePage'));
const SettingsPage = lazy(() => import('./pages/SettingsPage'));

// No ColorSchemeScript: it is an inline <script> and the CSP allows none; the manager applies the saved scheme.
const colorSchemeManager = localStorageColorSchemeManager({ key: 'opsdesk-color-scheme' });

export function App() {
  const [queryClient] = useState(createQueryClient);
  return (
    <MantineProvider theme={theme} defaultColorScheme="light" colorSchemeManager={colorSchemeManager}>
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <ModalsProvider>
          <BrowserRouter>
            <AuthProvider>
              <AppRoutes />
            </AuthProvider>
          </BrowserRouter>
        </ModalsProvider>
      </QueryClientProvider>
    </MantineProvider>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<DashboardPage />} />
        <Route path="hosts" element={<HostsPage />} />
        <Route
          path="hosts/:id"
          element={
            <Lazy>
              <HostDetailPage />
            </Lazy>
          }
        />
        <Route
          path="artifacts"
          element={
            <Lazy>
              <ArtifactsPage />
            </Lazy>
          }
        />
        <Route
          path="audit"
          element={
            <RequirePermission permission={Permissions.AUDIT_READ}>
              <Lazy>
                <AuditPage />
              </Lazy>
            </RequirePermission>
          }
        />
        <Route
          path="users"
          element={
            <RequirePermission permission={Permissions.USERS_READ}>
              <Lazy>
                <UsersPage />
              </Lazy>
            </RequirePermission>
          }
        />
        <Route
          path="profile"
          element={
            <Lazy>
              <ProfilePage />
            </Lazy>
          }
        />
        <Route
          path="settings"
          element={
            <Lazy>
              <SettingsPage />
            </Lazy>
          }
        />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}

function Lazy({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<TableSkeleton />}>{children}</Suspense>;
}
