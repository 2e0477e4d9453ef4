/** A button for a destructive action: it opens a dialog and acts only when the operator confirms. */
import { Button, type ButtonProps, Group, Modal, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';

export function ConfirmButton({
  label,
  question,
  onConfirm,
  ...props
}: ButtonProps & { label: string; question: string; onConfirm: () => Promise<unknown> }) {
  const [opened, { open, close }] = useDisclosure(false);
  return (
    <>
      <Button {...props} onClick={open}>
        {label}
      </Button>
      <Modal opened={opened} onClose={close} title={`${label}?`} closeButtonProps={{ 'aria-label': 'Close' }}>
        <Text mb="md">{question}</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button
            color="red.9"
            loading={props.loading}
            onClick={async () => {
              close();
              await onConfirm();
            }}
          >
            {`Yes, ${label.toLowerCase()}`}
          </Button>
        </Group>
      </Modal>
    </>
  );
}
