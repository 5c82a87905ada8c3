import { TextInput } from '@mantine/core';
import { isoToLocalInput, localInputToIso } from './format';

/** The From / To filter pair of the list pages: ISO times in the URL, local date-time inputs on screen. */
export function TimeRangeInputs({
  from,
  to,
  onChange,
}: {
  from: string | null;
  to: string | null;
  onChange: (key: 'from' | 'to', iso: string | undefined) => void;
}) {
  return (
    <>
      <TextInput
        label="From"
        type="datetime-local"
        value={isoToLocalInput(from)}
        onChange={(e) => onChange('from', localInputToIso(e.currentTarget.value))}
        w={210}
      />
      <TextInput
        label="To"
        type="datetime-local"
        value={isoToLocalInput(to)}
        onChange={(e) => onChange('to', localInputToIso(e.currentTarget.value))}
        w={210}
      />
    </>
  );
}
