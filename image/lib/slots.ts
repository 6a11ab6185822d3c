// A/B root slots on the x86-64 image (RAUC's "symmetric" layout, as Home Assistant OS does it):
//   1 FAT yubin-boot: GRUB's config and its environment block (which slot, how many tries)
//   2 root slot A · 3 root slot B: read-only squashfs, each with its own kernel and initrd
//   4 ext4 yubin-data: never touched by an upgrade
// GRUB (core.img in the gap before the first partition, no grub-install: nothing is mounted)
// picks the first slot of ORDER that is good and has tries left, counts the try in grubenv and
// boots it with rauc.slot=A|B. After each boot yubin-health marks the slot good once the firmware
// is ready and answers SMTP and POP3 (rauc status mark-good, which resets its try count); a slot
// that never gets there is tried MAX_TRIES times, then GRUB boots the other one.
import { writeFile } from 'node:fs/promises';
import { run } from './run.ts';
import type { Target } from './targets.ts';

/** The MBR disk identifier: partitions are found as PARTUUID=59554249-0N ("YUBI"), whatever the disk is called. */
export const DISK_ID = '59554249';
export const SLOT_MIB = 192;
export const BOOT_MIB_X64 = 16;
/** Boots of a slot that never reaches health before GRUB falls back to the other. */
export const MAX_TRIES = 3;

export const slots = [
  { name: 'A', partition: 2 },
  { name: 'B', partition: 3 },
] as const;

export const partuuid = (partition: number) => `${DISK_ID}-${String(partition).padStart(2, '0')}`;

export const compatible = (target: Target) => `yubin-${target.arch}`;

/** GRUB's modules built into core.img: everything grub.cfg uses, so the FAT needs no module folder. */
const grubModules = ['biosdisk', 'part_msdos', 'fat', 'squash4', 'xzio', 'gzio', 'normal', 'linux', 'loadenv', 'test', 'echo', 'serial',
  'terminal', 'sleep', 'configfile'];

/** The kernel command line common to both slots; the boot test rewrites this line (yubin.report, no quiet). */
export const kernelArgsLine = (target: Target) => `set yubin_args="console=tty0 console=${target.serialConsole},115200 systemd.volatile=state quiet"`;

export function grubCfg(target: Target): string {
  const choose = slots.map((s, i) => `  if [ -z "$chosen" -a "$SLOT" = ${s.name} -a "$${s.name}_OK" = 1 ]; then
    if [ "$${s.name}_TRY" = 0 ]; then chosen=${s.name}; ${s.name}_TRY=1; index=${i}
    elif [ "$${s.name}_TRY" = 1 -a "$MAX_TRIES" != 1 ]; then chosen=${s.name}; ${s.name}_TRY=2; index=${i}
    elif [ "$${s.name}_TRY" = 2 -a "$MAX_TRIES" != 1 -a "$MAX_TRIES" != 2 ]; then chosen=${s.name}; ${s.name}_TRY=3; index=${i}
    fi
  fi`).join('\n');
  const entries = slots.map((s) => `menuentry "Yubin slot ${s.name}" {
  linux (hd0,msdos${s.partition})/boot/vmlinuz root=PARTUUID=${partuuid(s.partition)} rootfstype=squashfs ro rootwait rauc.slot=${s.name} $yubin_args
  initrd (hd0,msdos${s.partition})/boot/initrd.img
}`).join('\n');
  return `# Yubin A/B boot (image/lib/slots.ts). grubenv holds ORDER, A_OK/B_OK (rauc marks them) and
# A_TRY/B_TRY (boots since the slot was last marked good, counted here, reset by mark-good).
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set ORDER="A B"
set MAX_TRIES=${MAX_TRIES}
set A_OK=0
set A_TRY=0
set B_OK=0
set B_TRY=0
load_env
${kernelArgsLine(target)}
set chosen=""
set index=0
for SLOT in $ORDER; do
${choose}
done
if [ -z "$chosen" ]; then
  # No slot is good with tries left: boot A rather than nothing (the owner sees why on the console).
  echo "yubin: no slot is marked good with tries left: booting slot A"
  chosen=A
  index=0
fi
save_env A_TRY B_TRY
echo "yubin: booting slot $chosen (A ok=$A_OK try=$A_TRY, B ok=$B_OK try=$B_TRY, order $ORDER)"
set default=$index
${entries}
`;
}

/** The first grubenv: slot A good (it is the one flashed), slot B empty. */
export async function makeGrubenv(file: string): Promise<void> {
  await run('grub-editenv', [file, 'create']);
  await run('grub-editenv', [file, 'set', 'ORDER=A B', 'A_OK=1', 'A_TRY=0', 'B_OK=0', 'B_TRY=0', `MAX_TRIES=${MAX_TRIES}`]);
}

/** GRUB for BIOS boot: boot.img's 440 bytes in the MBR, core.img in the sectors after it. */
export async function grubBios(work: string): Promise<{ bootImg: string; coreImg: string }> {
  const coreImg = `${work}/core.img`;
  await run('grub-mkimage', ['-O', 'i386-pc', '-o', coreImg, '-p', '(hd0,msdos1)/grub', ...grubModules]);
  return { bootImg: '/usr/lib/grub/i386-pc/boot.img', coreImg };
}

/** RAUC's view of the board: the two slots, GRUB as the boot chooser, the keyring bundles must chain to. */
export function raucSystemConf(target: Target): string {
  return `# RAUC (image/lib/slots.ts): bundles for ${compatible(target)} signed by a key in keyring.pem.
[system]
compatible=${compatible(target)}
bootloader=grub
grubenv=/boot/firmware/grub/grubenv
# Slot status and bundle state on the data partition: the root is read-only.
data-directory=/data/rauc
bundle-formats=plain

[keyring]
path=/etc/rauc/keyring.pem
# Signing certificates carry extendedKeyUsage=codeSigning (image/lib/rauc.ts): RAUC's default
# purpose, S/MIME signing, would refuse them ("unsuitable certificate purpose").
check-purpose=codesign

${slots.map((s, i) => `[slot.rootfs.${i}]
device=/dev/disk/by-partuuid/${partuuid(s.partition)}
type=raw
bootname=${s.name}
`).join('\n')}`;
}

export async function writeRaucConfig(root: string, target: Target, keyring: string): Promise<void> {
  const { mkdir, copyFile } = await import('node:fs/promises');
  await mkdir(`${root}/etc/rauc`, { recursive: true });
  await writeFile(`${root}/etc/rauc/system.conf`, raucSystemConf(target));
  await copyFile(keyring, `${root}/etc/rauc/keyring.pem`);
}
