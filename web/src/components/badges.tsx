import { Badge, type MantineColor } from '@mantine/core';

const envColor: Record<string, MantineColor> = { prod: 'red', stage: 'yellow', dev: 'teal' };
const critColor: Record<string, MantineColor> = {
  critical: 'red',
  high: 'orange',
  medium: 'blue',
  low: 'gray',
};
const roleColor: Record<string, MantineColor> = {
  admin: 'grape',
  operator: 'blue',
  auditor: 'teal',
  viewer: 'gray',
};

export const EnvBadge = ({ value }: { value: string }) => (
  <Badge variant="light" color={envColor[value] ?? 'gray'} radius="sm">
    {value}
  </Badge>
);
export const CritBadge = ({ value }: { value: string }) => (
  <Badge variant="dot" color={critColor[value] ?? 'gray'} radius="sm">
    {value}
  </Badge>
);
export const RoleBadge = ({ value }: { value: string }) => (
  <Badge variant="light" color={roleColor[value] ?? 'gray'} radius="sm">
    {value}
  </Badge>
);
export const envColors = envColor;
export const critColors = critColor;
