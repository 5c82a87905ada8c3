import {
  Alert,
  Anchor,
  Box,
  Button,
  Center,
  Group,
  Loader,
  Paper,
  PasswordInput,
  PinInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useInterval } from '@mantine/hooks';
import { IconAlertTriangle, IconClockHour4, IconLock } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { ApiError, authApi, describeError } from '../api';
import { useAuth } from '../auth/AuthProvider';
import { ColorSchemeToggle, Logo } from '../components/Layout';

type Step = 'password' | 'totp' | 'recovery';

/** Only same-app paths are followed after sign-in (never another origin from a crafted link). */
export function safeNext(next: string | null): string {
  // `//host` and `/\host` are other origins to a browser
  return next && next.startsWith('/') && !/^\/[/\\]/.test(next) && !next.startsWith('/login')
    ? next
    : '/hosts';
}

export function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const { status } = useAuth();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<Step>('password');
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const tick = useInterval(() => setNow(Date.now()), 1000);
  const next = safeNext(params.get('next'));
  const expired = params.get('expired') === '1';

  useEffect(() => {
    if (waitUntil > now) tick.start();
    else tick.stop();
    return tick.stop;
  }, [waitUntil, now, tick]);

  if (status === 'authenticated') return <Navigate to={next} replace />;
  // a reload with a session in this tab: the silent refresh decides before the form shows
  if (status === 'booting')
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );

  const waitSeconds = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await authApi.login({ email, password, totp_code: step === 'password' ? undefined : code.trim() });
      await qc.invalidateQueries({ queryKey: ['me'] });
      navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'AUTH.MFA_REQUIRED') {
        setStep('totp');
        setCode('');
      } else {
        setError(err instanceof Error ? err : new Error(String(err)));
        if (err instanceof ApiError && err.status === 429)
          setWaitUntil(Date.now() + (err.retryAfter ?? 60) * 1000);
        if (err instanceof ApiError && err.code === 'AUTH.MFA_INVALID_CODE') setCode('');
      }
    } finally {
      setBusy(false);
    }
  }

  const rateLimited = error instanceof ApiError && error.status === 429;
  const locked = error instanceof ApiError && /LOCKED/.test(error.code ?? '');

  return (
    <Box mih="100vh" bg="var(--mantine-color-body)" style={{ display: 'flex', flexDirection: 'column' }}>
      <Group justify="space-between" p="md">
        <Logo />
        <ColorSchemeToggle />
      </Group>
      <Center style={{ flex: 1 }} p="md">
        <Paper withBorder shadow="md" radius="lg" p="xl" w="100%" maw={420}>
          <form onSubmit={submit} data-testid="login-form" noValidate>
            <Stack gap="md">
              <Stack gap={4}>
                <Title order={2}>{step === 'password' ? 'Sign in' : 'Two-step verification'}</Title>
                <Text c="dimmed" size="sm">
                  {step === 'password'
                    ? 'Host inventory, governed SSH access and the audit trail.'
                    : step === 'totp'
                      ? 'Enter the 6-digit code from your authenticator app.'
                      : 'Enter one of your recovery codes (xxxxx-xxxxx). Each works once.'}
                </Text>
              </Stack>
              {expired && !error && (
                <Alert
                  color="blue"
                  variant="light"
                  icon={<IconClockHour4 size={18} />}
                  data-testid="session-expired"
                >
                  Your session expired. Sign in again and you will return to where you were.
                </Alert>
              )}
              {error && (
                <Alert
                  color={rateLimited || locked ? 'orange' : 'red'}
                  variant="light"
                  icon={rateLimited || locked ? <IconLock size={18} /> : <IconAlertTriangle size={18} />}
                  data-testid="login-error"
                  role="alert"
                >
                  {rateLimited
                    ? waitSeconds > 0
                      ? `Too many sign-in attempts. Try again in ${waitSeconds} s.`
                      : 'You can try again now.'
                    : describeError(error)}
                </Alert>
              )}
              {step === 'password' ? (
                <>
                  <TextInput
                    label="Email"
                    type="email"
                    autoComplete="username"
                    required
                    value={email}
                    onChange={(e) => setEmail(e.currentTarget.value)}
                    data-testid="login-email"
                    autoFocus
                  />
                  <PasswordInput
                    label="Password"
                    autoComplete="current-password"
                    required
                    value={password}
                    onChange={(e) => setPassword(e.currentTarget.value)}
                    data-testid="login-password"
                  />
                </>
              ) : step === 'totp' ? (
                <Stack gap={6} align="center">
                  <PinInput
                    length={6}
                    type="number"
                    oneTimeCode
                    autoFocus
                    value={code}
                    onChange={setCode}
                    aria-label="Authentication code"
                    data-testid="login-totp"
                    size="md"
                  />
                </Stack>
              ) : (
                <TextInput
                  label="Recovery code"
                  placeholder="abcde-12345"
                  autoComplete="one-time-code"
                  value={code}
                  onChange={(e) => setCode(e.currentTarget.value)}
                  data-testid="login-recovery"
                  autoFocus
                />
              )}
              <Button
                type="submit"
                fullWidth
                size="md"
                loading={busy}
                disabled={waitSeconds > 0 || (step === 'totp' && code.length !== 6)}
                data-testid="login-submit"
              >
                {step === 'password' ? 'Sign in' : 'Verify'}
              </Button>
              {step !== 'password' && (
                <Group justify="space-between">
                  <Anchor
                    component="button"
                    type="button"
                    size="sm"
                    onClick={() => {
                      setStep(step === 'totp' ? 'recovery' : 'totp');
                      setCode('');
                      setError(null);
                    }}
                    data-testid="toggle-recovery"
                  >
                    {step === 'totp' ? 'Use a recovery code' : 'Use an authenticator code'}
                  </Anchor>
                  <Anchor
                    component="button"
                    type="button"
                    size="sm"
                    c="dimmed"
                    onClick={() => {
                      setStep('password');
                      setCode('');
                      setError(null);
                    }}
                  >
                    Back
                  </Anchor>
                </Group>
              )}
            </Stack>
          </form>
        </Paper>
      </Center>
    </Box>
  );
}
